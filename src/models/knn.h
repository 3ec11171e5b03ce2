// k-nearest-neighbours family (scikit-learn KNeighborsRegressor semantics): the stored training
// rows are indexed in a k-d tree (nanoflann); prediction averages the targets of the k nearest
// rows, uniformly or weighted by 1/distance (exact matches take all the weight).
#pragma once

#include <memory>
#include <vector>

#include "models/regressor.h"

namespace wattson {

enum class KnnWeights { kUniform, kDistance };
enum class KnnMetric { kEuclidean, kManhattan };

class KnnRegressor final : public Regressor {
 public:
  // points: rows × dim, row-major. targets: one per row. 1 <= k <= rows.
  static Result<std::unique_ptr<KnnRegressor>> Create(std::size_t dim, std::vector<double> points,
                                                      std::vector<double> targets, std::size_t k,
                                                      KnnWeights weights, KnnMetric metric);
  static Result<std::unique_ptr<KnnRegressor>> FromJson(const Json& j, std::string_view ctx);
  ~KnnRegressor() override;

  std::string_view family() const override { return "knn"; }
  std::size_t input_size() const override { return dim_; }
  double Predict(std::span<const double> x, const SystemFeatures& system) const override;
  Json ToJson() const override;

 private:
  struct Index;
  KnnRegressor(std::size_t dim, std::vector<double> points, std::vector<double> targets,
               std::size_t k, KnnWeights weights, KnnMetric metric);

  std::size_t dim_;
  std::vector<double> points_;
  std::vector<double> targets_;
  std::size_t k_;
  KnnWeights weights_;
  KnnMetric metric_;
  std::unique_ptr<Index> index_;
};

}  // namespace wattson
