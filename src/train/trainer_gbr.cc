#include "train/trainer_gbr.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "fmt/format.h"

namespace wattson {

namespace {

// scikit-learn treats feature values closer than this as equal when looking for splits.
constexpr double kFeatureThreshold = 1e-7;
constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

// The best split of a node, if any: go left when float32(x[feature]) <= threshold.
struct SplitChoice {
  bool found = false;
  std::size_t feature = 0;
  double threshold = 0;
};

// Grows regression trees on residuals over a fixed float32 copy of the features.
class TreeGrower {
 public:
  TreeGrower(const DenseRows& x, const GbrOptions& options)
      : n_(x.rows), d_(x.cols), options_(options), xf_(x.cols), sorted_(x.cols), node_of_(x.rows) {
    for (std::size_t c = 0; c < d_; ++c) {
      xf_[c].resize(n_);
      for (std::size_t r = 0; r < n_; ++r) xf_[c][r] = static_cast<float>(x.at(r, c));
      sorted_[c].resize(n_);
      std::iota(sorted_[c].begin(), sorted_[c].end(), 0u);
      const auto& col = xf_[c];
      std::stable_sort(sorted_[c].begin(), sorted_[c].end(),
                       [&col](std::uint32_t a, std::uint32_t b) { return col[a] < col[b]; });
    }
  }

  // Fits one tree to `residual` over `rows` (a subset of all rows, any order); leaves hold the
  // mean residual, and leaf_of[r] receives the leaf of every row r in the subset.
  RegressionTree Grow(const std::vector<double>& residual, std::vector<std::uint32_t> rows,
                      std::mt19937_64& rng, std::vector<std::uint32_t>& leaf_of) {
    RegressionTree tree;
    struct Record {
      std::size_t start, end;
      int depth;
      std::int32_t parent;
      bool is_left;
    };
    std::vector<Record> stack = {{0, rows.size(), 0, -1, false}};
    std::vector<std::size_t> features(d_);
    std::iota(features.begin(), features.end(), 0);
    while (!stack.empty()) {
      const Record rec = stack.back();
      stack.pop_back();
      const std::size_t count = rec.end - rec.start;
      double sum = 0;
      for (std::size_t k = rec.start; k < rec.end; ++k) sum += residual[rows[k]];
      const double mean = sum / static_cast<double>(count);
      double var = 0;
      for (std::size_t k = rec.start; k < rec.end; ++k) {
        const double e = residual[rows[k]] - mean;
        var += e * e;
      }
      var /= static_cast<double>(count);
      const auto id = static_cast<std::int32_t>(tree.left.size());
      tree.left.push_back(-1);
      tree.right.push_back(-1);
      tree.feature.push_back(0);
      tree.threshold.push_back(0);
      tree.value.push_back(mean);
      if (rec.parent >= 0) {
        auto p = static_cast<std::size_t>(rec.parent);
        (rec.is_left ? tree.left[p] : tree.right[p]) = id;
      }
      bool leaf = rec.depth >= options_.max_depth || count < options_.min_samples_split ||
                  count < 2 * options_.min_samples_leaf || var <= kEpsilon;
      SplitChoice split;
      if (!leaf) {
        std::shuffle(features.begin(), features.end(), rng);
        split = BestSplit(residual, rows, rec.start, rec.end, sum, features);
        leaf = !split.found;
      }
      if (leaf) {
        for (std::size_t k = rec.start; k < rec.end; ++k) {
          leaf_of[rows[k]] = static_cast<std::uint32_t>(id);
        }
        continue;
      }
      const auto& col = xf_[split.feature];
      const double thr = split.threshold;
      auto mid = std::stable_partition(
          rows.begin() + static_cast<std::ptrdiff_t>(rec.start),
          rows.begin() + static_cast<std::ptrdiff_t>(rec.end),
          [&col, thr](std::uint32_t r) { return static_cast<double>(col[r]) <= thr; });
      const auto split_at = static_cast<std::size_t>(mid - rows.begin());
      tree.feature.back() = static_cast<std::int32_t>(split.feature);
      tree.threshold.back() = thr;
      stack.push_back({split_at, rec.end, rec.depth + 1, id, false});
      stack.push_back({rec.start, split_at, rec.depth + 1, id, true});
    }
    return tree;
  }

 private:
  SplitChoice BestSplit(const std::vector<double>& residual, const std::vector<std::uint32_t>& rows,
                        std::size_t start, std::size_t end, double total,
                        const std::vector<std::size_t>& features) {
    // A fresh stamp marks this node's rows (stamps never repeat, across nodes and trees).
    const std::uint64_t stamp = ++stamp_;
    for (std::size_t k = start; k < end; ++k) node_of_[rows[k]] = stamp;
    const std::size_t count = end - start;
    vals_.resize(count);
    res_.resize(count);
    SplitChoice best;
    double best_proxy = -std::numeric_limits<double>::infinity();
    const std::size_t min_leaf = std::max<std::size_t>(options_.min_samples_leaf, 1);
    for (std::size_t c : features) {
      const auto& col = xf_[c];
      std::size_t m = 0;
      for (std::uint32_t r : sorted_[c]) {
        if (node_of_[r] != stamp) continue;
        vals_[m] = col[r];
        res_[m] = residual[r];
        ++m;
      }
      if (static_cast<double>(vals_[count - 1]) <=
          static_cast<double>(vals_[0]) + kFeatureThreshold) {
        continue;  // constant in this node
      }
      double sum_left = 0;
      std::size_t moved = 0;  // rows [0, moved) are in sum_left
      std::size_t p = 0;
      while (p < count) {
        while (p + 1 < count && static_cast<double>(vals_[p + 1]) <=
                                    static_cast<double>(vals_[p]) + kFeatureThreshold) {
          ++p;
        }
        ++p;
        if (p >= count) break;
        if (p < min_leaf || count - p < min_leaf) continue;
        for (; moved < p; ++moved) sum_left += res_[moved];
        const double n_left = static_cast<double>(p);
        const double n_right = static_cast<double>(count - p);
        const double sum_right = total - sum_left;
        const double diff = n_right * sum_left - n_left * sum_right;
        const double proxy = diff * diff / (n_left * n_right);
        if (proxy > best_proxy) {
          best_proxy = proxy;
          best.found = true;
          best.feature = c;
          const double lo = static_cast<double>(vals_[p - 1]);
          const double hi = static_cast<double>(vals_[p]);
          double thr = lo / 2.0 + hi / 2.0;
          if (thr == hi || !std::isfinite(thr)) thr = lo;
          best.threshold = thr;
        }
      }
    }
    return best;
  }

  std::size_t n_, d_;
  GbrOptions options_;
  std::vector<std::vector<float>> xf_;              // column-major float32 features
  std::vector<std::vector<std::uint32_t>> sorted_;  // rows sorted by each feature
  std::vector<std::uint64_t> node_of_;              // scratch: the stamp of each row's node
  std::uint64_t stamp_ = 0;
  std::vector<float> vals_;
  std::vector<double> res_;
};

// GradientBoostingRegressor(n_estimators=100, max_depth=3, learning_rate=0.1).
class GradientBoostingRegressorTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "GradientBoostingRegressorTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    auto ens = FitGbr(ScaledFeatures(in), in.y, GbrOptions{}, in.seed);
    if (!ens.ok()) return ens.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    return AssemblePipeline(in, {scaler}, std::shared_ptr<const Regressor>(std::move(ens).value()),
                            name());
  }
};

// scikit-learn's _weighted_percentile with unit weights: the smallest value whose cumulative
// count reaches q · n (the lower median for q = 0.5 and even n).
double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const double want = std::ceil(q * static_cast<double>(v.size()));
  const std::size_t k = want < 1 ? 0 : std::min(static_cast<std::size_t>(want) - 1, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

Result<std::unique_ptr<TreeEnsembleRegressor>> FitGbr(const DenseRows& x,
                                                      const std::vector<double>& y,
                                                      const GbrOptions& options,
                                                      std::uint64_t seed) {
  const std::size_t n = x.rows;
  if (n == 0 || y.size() != n || x.cols == 0) {
    return Status::InvalidArgument("gbr: no rows, no features or mismatched target");
  }
  if (n > std::numeric_limits<std::uint32_t>::max() - 1) {
    return Status::OutOfRange("gbr: too many rows");
  }
  if (options.n_estimators < 1 || options.max_depth < 1 || options.max_depth > 30 ||
      !(options.learning_rate > 0) || !(options.subsample > 0 && options.subsample <= 1) ||
      !(options.huber_alpha > 0 && options.huber_alpha < 1)) {
    return Status::InvalidArgument("gbr: invalid options");
  }
  std::mt19937_64 rng(seed);
  const double init = options.loss == GbrLoss::kSquared ? Mean(y) : Quantile(y, 0.5);
  std::vector<double> raw(n, init);
  std::vector<double> residual(n);
  std::vector<double> target(n);
  TreeGrower grower(x, options);
  std::vector<RegressionTree> trees;
  trees.reserve(static_cast<std::size_t>(options.n_estimators));
  std::vector<std::uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  std::vector<char> in_bag(n, 1);
  std::vector<std::uint32_t> leaf_of(n, 0);
  const auto n_sub = std::max<std::size_t>(
      1, static_cast<std::size_t>(options.subsample * static_cast<double>(n)));
  std::vector<double> scratch;
  for (int stage = 0; stage < options.n_estimators; ++stage) {
    for (std::size_t i = 0; i < n; ++i) residual[i] = y[i] - raw[i];
    std::vector<std::uint32_t> rows = all;
    if (n_sub < n) {
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(n_sub);
      std::sort(rows.begin(), rows.end());
      std::fill(in_bag.begin(), in_bag.end(), 0);
      for (std::uint32_t r : rows) in_bag[r] = 1;
    }
    // The negative gradient the tree is fitted to.
    double gamma = 0;
    switch (options.loss) {
      case GbrLoss::kSquared:
        target = residual;
        break;
      case GbrLoss::kAbsolute:
        for (std::size_t i = 0; i < n; ++i) target[i] = residual[i] > 0 ? 1.0 : -1.0;
        break;
      case GbrLoss::kHuber: {
        scratch.clear();
        for (std::uint32_t r : rows) scratch.push_back(std::fabs(residual[r]));
        gamma = Quantile(scratch, options.huber_alpha);
        for (std::size_t i = 0; i < n; ++i) {
          const double a = std::fabs(residual[i]);
          target[i] = a <= gamma ? residual[i] : (residual[i] > 0 ? gamma : -gamma);
        }
        break;
      }
    }
    const std::vector<std::uint32_t> bag = rows;
    RegressionTree tree = grower.Grow(target, std::move(rows), rng, leaf_of);
    if (options.loss != GbrLoss::kSquared) {
      // Leaf values from the residuals of the in-bag rows (scikit-learn's
      // _update_terminal_regions).
      std::vector<std::vector<double>> per_leaf(tree.left.size());
      for (std::uint32_t r : bag) per_leaf[leaf_of[r]].push_back(residual[r]);
      for (std::size_t node = 0; node < tree.left.size(); ++node) {
        if (tree.left[node] != -1 || per_leaf[node].empty()) continue;
        std::vector<double>& res = per_leaf[node];
        const double median = Quantile(res, 0.5);
        if (options.loss == GbrLoss::kAbsolute) {
          tree.value[node] = median;
        } else {
          double adj = 0;
          for (double r : res) {
            const double d = r - median;
            adj += (d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0)) * std::min(gamma, std::fabs(d));
          }
          tree.value[node] = median + adj / static_cast<double>(res.size());
        }
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t node = leaf_of[i];
      if (!in_bag[i]) {
        node = 0;
        while (tree.left[node] != -1) {
          const auto f = static_cast<std::size_t>(tree.feature[node]);
          const bool left =
              static_cast<double>(static_cast<float>(x.at(i, f))) <= tree.threshold[node];
          node = static_cast<std::size_t>(left ? tree.left[node] : tree.right[node]);
        }
      }
      raw[i] += options.learning_rate * tree.value[node];
    }
    trees.push_back(std::move(tree));
  }
  TreeEnsembleParams params;
  params.base_score = init;
  params.learning_rate = options.learning_rate;
  params.split = SplitRule::kLessEqual;
  params.accumulation = Accumulation::kFloat64;
  return TreeEnsembleRegressor::Create(x.cols, params, std::move(trees));
}

std::unique_ptr<Trainer> NewGradientBoostingRegressorTrainer() {
  return std::make_unique<GradientBoostingRegressorTrainer>();
}

}  // namespace wattson
