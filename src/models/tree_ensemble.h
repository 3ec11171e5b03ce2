// Tree-ensemble family: gradient-boosted regression trees with the exact prediction semantics of
// scikit-learn's GradientBoostingRegressor or of XGBoost (gbtree, identity link):
//  - sklearn: features cast to float32, go left if x <= threshold, y = init + Σ lr·leaf (double);
//  - xgboost: features cast to float32, go left if x < threshold (float32), missing values follow
//    default_left, y = base_score + Σ leaf accumulated in float32.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "models/regressor.h"

namespace wattson {

enum class SplitRule { kLessEqual, kLess };      // sklearn, xgboost
enum class Accumulation { kFloat64, kFloat32 };  // sklearn, xgboost

// One tree as parallel node arrays; node 0 is the root. A leaf has left == right == -1.
struct RegressionTree {
  std::vector<std::int32_t> left;
  std::vector<std::int32_t> right;
  std::vector<std::int32_t> feature;       // split feature of an internal node (ignored for leaves)
  std::vector<double> threshold;           // split threshold of an internal node
  std::vector<double> value;               // leaf value (ignored for internal nodes)
  std::vector<std::uint8_t> default_left;  // empty, or 1 per node: NaN goes left
};

struct TreeEnsembleParams {
  double base_score = 0;     // sklearn: the init estimator's constant; xgboost: base_score
  double learning_rate = 1;  // multiplies every leaf value (xgboost: 1, shrinkage is in the leaves)
  SplitRule split = SplitRule::kLessEqual;
  Accumulation accumulation = Accumulation::kFloat64;
};

// One tree of a shallow ensemble padded to a perfect depth-3 tree: split j (breadth-first, 0..6)
// tests feature[j] <= threshold[j] (entry 7 unused); leaves 0..7 from left to right, as float64
// learning_rate × value split into its low and high 32 bits (so eight rows' leaves are picked
// with two 32-bit permutes) and as float32 float(learning_rate) × float(value).
struct alignas(32) ShallowTree {
  float threshold[8];
  std::int32_t feature[8];
  std::uint32_t leaf_lo[8];
  std::uint32_t leaf_hi[8];
  float leaf_f32[8];
};

class TreeEnsembleRegressor final : public Regressor {
 public:
  // Validates every tree: equal array lengths, children inside the tree and after their parent
  // (so traversal always ends), split features inside input_size, finite numbers.
  static Result<std::unique_ptr<TreeEnsembleRegressor>> Create(std::size_t input_size,
                                                               TreeEnsembleParams params,
                                                               std::vector<RegressionTree> trees);
  static Result<std::unique_ptr<TreeEnsembleRegressor>> FromJson(const Json& j,
                                                                 std::string_view ctx);

  std::string_view family() const override { return "tree_ensemble"; }
  std::size_t input_size() const override { return input_size_; }
  double Predict(std::span<const double> x, const SystemFeatures& system) const override;
  // Walks blocks of rows through each tree together over a flattened copy of the trees (float
  // thresholds that give the libraries' exact decisions, branch-free child selection), so the
  // rows' independent walks overlap. Bit-identical to Predict.
  void PredictBatch(std::span<const double> x, const SystemFeatures& system,
                    std::span<double> out) const override;
  Json ToJson() const override;

  const TreeEnsembleParams& params() const { return params_; }
  bool uses_shallow_layout() const { return !shallow_trees_.empty(); }
  const std::vector<RegressionTree>& trees() const { return trees_; }

 private:
  // One node of the flattened ensemble. A leaf points to itself on both sides, so a walk of a
  // fixed number of steps (the tree's depth) ends on the right leaf from any path.
  struct FlatNode {
    float threshold;  // go left iff x <= threshold (both split rules are mapped onto this)
    std::uint32_t feature;
    std::uint32_t left;
    std::uint32_t right;
  };
  struct FlatTree {
    std::uint32_t root;   // index into flat_nodes_
    std::uint32_t depth;  // longest root-to-leaf path, in splits
  };

  TreeEnsembleRegressor(std::size_t input_size, TreeEnsembleParams params,
                        std::vector<RegressionTree> trees);
  std::size_t Leaf(const RegressionTree& t, std::span<const float> x) const;
  template <typename Acc>
  void PredictBlock(const float* x, std::size_t rows, double* out) const;
  // Shallow ensembles (every tree of depth <= 3, at most 8 inputs) on CPUs with AVX2: each tree
  // padded to a perfect depth-3 tree and walked by eight rows at once (one row per vector lane:
  // the seven splits compared for all eight, the leaf picked from the comparison masks), the
  // trees in order, so each row's leaves are summed in the libraries' order.
  void BuildShallowLayout();
  template <typename Acc>
  void PredictShallow(const float* x, std::size_t rows, double* out) const;

  std::size_t input_size_;
  TreeEnsembleParams params_;
  std::vector<RegressionTree> trees_;
  std::vector<FlatNode> flat_nodes_;
  std::vector<FlatTree> flat_trees_;
  std::vector<double> leaf_f64_;  // learning_rate × value, per flat node (sklearn accumulation)
  std::vector<float> leaf_f32_;   // float(learning_rate) × float(value) (xgboost accumulation)

  std::vector<ShallowTree> shallow_trees_;  // empty: layout not used
};

// Whether this CPU runs AVX2 (the shallow-ensemble path of PredictBatch).
bool CpuHasAvx2();

// Reads an XGBoost JSON model (the format of XGBRegressor.save_model("x.json"), XGBoost 1.x/2.x):
// gbtree booster with an identity-link regression objective. The result takes the model's
// features in its own order.
Result<std::unique_ptr<TreeEnsembleRegressor>> TreeEnsembleFromXgboostJson(
    const Json& j, std::string_view what, std::size_t* num_features);

}  // namespace wattson
