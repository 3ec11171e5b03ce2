#include "models/knn.h"

#include <cmath>

#include "fmt/format.h"
#include "nanoflann.hpp"

namespace wattson {

namespace {

constexpr std::size_t kMaxPoints = 1u << 26;  // values, rows × dim

// nanoflann's view of the stored rows.
struct PointCloud {
  const std::vector<double>* points;
  std::size_t dim;
  std::size_t kdtree_get_point_count() const { return points->size() / dim; }
  double kdtree_get_pt(std::size_t idx, std::size_t d) const { return (*points)[idx * dim + d]; }
  template <class BBox>
  bool kdtree_get_bbox(BBox&) const {
    return false;
  }
};

using L2Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, PointCloud>,
                                                   PointCloud, -1, std::size_t>;
using L1Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L1_Adaptor<double, PointCloud>,
                                                   PointCloud, -1, std::size_t>;

}  // namespace

struct KnnRegressor::Index {
  PointCloud cloud;
  std::unique_ptr<L2Tree> l2;
  std::unique_ptr<L1Tree> l1;
};

KnnRegressor::KnnRegressor(std::size_t dim, std::vector<double> points, std::vector<double> targets,
                           std::size_t k, KnnWeights weights, KnnMetric metric)
    : dim_(dim),
      points_(std::move(points)),
      targets_(std::move(targets)),
      k_(k),
      weights_(weights),
      metric_(metric),
      index_(std::make_unique<Index>()) {
  index_->cloud = PointCloud{&points_, dim_};
  const nanoflann::KDTreeSingleIndexAdaptorParams params(10);
  if (metric_ == KnnMetric::kEuclidean) {
    index_->l2 = std::make_unique<L2Tree>(dim_, index_->cloud, params);
  } else {
    index_->l1 = std::make_unique<L1Tree>(dim_, index_->cloud, params);
  }
}

KnnRegressor::~KnnRegressor() = default;

Result<std::unique_ptr<KnnRegressor>> KnnRegressor::Create(std::size_t dim,
                                                           std::vector<double> points,
                                                           std::vector<double> targets,
                                                           std::size_t k, KnnWeights weights,
                                                           KnnMetric metric) {
  if (dim == 0 || dim > 4096) return Status::InvalidArgument("knn: dimension is not in 1..4096");
  if (points.size() > kMaxPoints) return Status::OutOfRange("knn: too many stored values");
  if (points.size() % dim != 0) {
    return Status::InvalidArgument("knn: stored points are not a whole number of rows");
  }
  const std::size_t rows = points.size() / dim;
  if (targets.size() != rows) {
    return Status::InvalidArgument(
        fmt::format("knn: {} stored rows but {} targets", rows, targets.size()));
  }
  if (k == 0 || k > rows) {
    return Status::InvalidArgument(fmt::format("knn: k = {} with {} stored rows", k, rows));
  }
  for (double v : points) {
    if (!std::isfinite(v)) return Status::InvalidArgument("knn: a stored point is not finite");
  }
  for (double v : targets) {
    if (!std::isfinite(v)) return Status::InvalidArgument("knn: a stored target is not finite");
  }
  return std::unique_ptr<KnnRegressor>(
      new KnnRegressor(dim, std::move(points), std::move(targets), k, weights, metric));
}

double KnnRegressor::Predict(std::span<const double> x, const SystemFeatures&) const {
  std::vector<std::size_t> idx(k_);
  std::vector<double> dist(k_);
  std::size_t found;
  if (index_->l2) {
    found = index_->l2->knnSearch(x.data(), k_, idx.data(), dist.data());
    for (std::size_t i = 0; i < found; ++i) dist[i] = std::sqrt(dist[i]);
  } else {
    found = index_->l1->knnSearch(x.data(), k_, idx.data(), dist.data());
  }
  if (found == 0) return 0.0;
  if (weights_ == KnnWeights::kUniform) {
    double sum = 0;
    for (std::size_t i = 0; i < found; ++i) sum += targets_[idx[i]];
    return sum / static_cast<double>(found);
  }
  // Distance weights; exact matches (distance 0) share all the weight, as in scikit-learn.
  bool exact = false;
  for (std::size_t i = 0; i < found; ++i) exact = exact || dist[i] == 0.0;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < found; ++i) {
    double w = exact ? (dist[i] == 0.0 ? 1.0 : 0.0) : 1.0 / dist[i];
    num += w * targets_[idx[i]];
    den += w;
  }
  return num / den;
}

Json KnnRegressor::ToJson() const {
  return Json{{"family", "knn"},
              {"input_size", dim_},
              {"k", k_},
              {"weights", weights_ == KnnWeights::kUniform ? "uniform" : "distance"},
              {"metric", metric_ == KnnMetric::kEuclidean ? "euclidean" : "manhattan"},
              {"points", points_},
              {"targets", targets_}};
}

Result<std::unique_ptr<KnnRegressor>> KnnRegressor::FromJson(const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(const Json* n, GetField(j, "input_size", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long dim, AsInteger(*n, JoinPath(ctx, "input_size"), 1, 4096));
  WATTSON_ASSIGN_OR_RETURN(const Json* jk, GetField(j, "k", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long k, AsInteger(*jk, JoinPath(ctx, "k"), 1, 1 << 20));
  WATTSON_ASSIGN_OR_RETURN(std::string w, GetString(j, "weights", ctx));
  KnnWeights weights;
  if (w == "uniform") {
    weights = KnnWeights::kUniform;
  } else if (w == "distance") {
    weights = KnnWeights::kDistance;
  } else {
    return Status::InvalidArgument(JoinPath(ctx, "weights") + ": expected uniform or distance");
  }
  KnnMetric metric = KnnMetric::kEuclidean;
  if (FindField(j, "metric") != nullptr) {
    WATTSON_ASSIGN_OR_RETURN(std::string m, GetString(j, "metric", ctx));
    if (m == "manhattan") {
      metric = KnnMetric::kManhattan;
    } else if (m != "euclidean") {
      return Status::InvalidArgument(JoinPath(ctx, "metric") + ": expected euclidean or manhattan");
    }
  }
  WATTSON_ASSIGN_OR_RETURN(const Json* jp, GetField(j, "points", ctx));
  WATTSON_ASSIGN_OR_RETURN(auto points,
                           AsFiniteNumberArray(*jp, JoinPath(ctx, "points"), kMaxPoints));
  WATTSON_ASSIGN_OR_RETURN(const Json* jt, GetField(j, "targets", ctx));
  WATTSON_ASSIGN_OR_RETURN(auto targets,
                           AsFiniteNumberArray(*jt, JoinPath(ctx, "targets"), kMaxPoints));
  auto r = Create(static_cast<std::size_t>(dim), std::move(points), std::move(targets),
                  static_cast<std::size_t>(k), weights, metric);
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

}  // namespace wattson
