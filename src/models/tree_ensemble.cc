#include "models/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <limits>
#include <type_traits>

#include "fmt/format.h"

namespace wattson {

namespace {

constexpr std::size_t kMaxTotalNodes = 1u << 24;
constexpr std::size_t kMaxInputs = 1u << 16;
constexpr std::size_t kMaxTreeDepth = 4096;

Status ValidateTree(const RegressionTree& t, std::size_t input_size, std::size_t index) {
  const std::size_t n = t.left.size();
  const std::string ctx = fmt::format("tree {}", index);
  if (n == 0) return Status::InvalidArgument(ctx + ": no nodes");
  if (t.right.size() != n || t.feature.size() != n || t.threshold.size() != n ||
      t.value.size() != n || (!t.default_left.empty() && t.default_left.size() != n)) {
    return Status::InvalidArgument(ctx + ": node arrays have different lengths");
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t l = t.left[i];
    const std::int32_t r = t.right[i];
    const bool leaf = l == -1;
    if (leaf != (r == -1)) {
      return Status::InvalidArgument(fmt::format("{}: node {} has one child", ctx, i));
    }
    if (leaf) {
      if (!std::isfinite(t.value[i])) {
        return Status::InvalidArgument(fmt::format("{}: leaf {} value is not finite", ctx, i));
      }
      continue;
    }
    // Children strictly after the parent: traversal terminates and cannot cycle.
    if (l <= static_cast<std::int64_t>(i) || r <= static_cast<std::int64_t>(i) ||
        static_cast<std::size_t>(l) >= n || static_cast<std::size_t>(r) >= n) {
      return Status::InvalidArgument(
          fmt::format("{}: node {} has a child out of order or range", ctx, i));
    }
    if (t.feature[i] < 0 || static_cast<std::size_t>(t.feature[i]) >= input_size) {
      return Status::InvalidArgument(
          fmt::format("{}: node {} splits on feature {} of {}", ctx, i, t.feature[i], input_size));
    }
    if (std::isnan(t.threshold[i])) {
      return Status::InvalidArgument(fmt::format("{}: node {} threshold is NaN", ctx, i));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::int32_t>> IntArray(const Json& obj, std::string_view key,
                                           std::string_view ctx, std::size_t max_len) {
  WATTSON_ASSIGN_OR_RETURN(const Json* v, GetField(obj, key, ctx));
  const std::string path = JoinPath(ctx, key);
  if (!v->is_array()) return Status::InvalidArgument(path + ": expected an array");
  if (v->size() > max_len) return Status::OutOfRange(path + ": too many nodes");
  std::vector<std::int32_t> out;
  out.reserve(v->size());
  for (std::size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (e.is_boolean()) {
      out.push_back(e.get<bool>() ? 1 : 0);
      continue;
    }
    WATTSON_ASSIGN_OR_RETURN(long long x,
                             AsInteger(e, fmt::format("{}[{}]", path, i), -2, INT32_MAX));
    out.push_back(static_cast<std::int32_t>(x));
  }
  return out;
}

Result<std::vector<double>> NumberArray(const Json& obj, std::string_view key, std::string_view ctx,
                                        std::size_t max_len) {
  WATTSON_ASSIGN_OR_RETURN(const Json* v, GetField(obj, key, ctx));
  return AsFiniteNumberArray(*v, JoinPath(ctx, key), max_len);
}

// XGBoost writes base_score as a string ("5E-1", or "[5E-1]" from 2.x).
Result<double> ParseXgbNumberString(const Json& v, std::string_view ctx) {
  if (v.is_number()) return AsFiniteNumber(v, ctx);
  WATTSON_ASSIGN_OR_RETURN(std::string s, AsString(v, ctx));
  if (!s.empty() && s.front() == '[') s = s.substr(1);
  if (!s.empty() && s.back() == ']') s.pop_back();
  if (s.find(',') != std::string::npos) {
    return Status::InvalidArgument(fmt::format("{}: multi-target models are not supported", ctx));
  }
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(d)) {
    return Status::InvalidArgument(fmt::format("{}: '{}' is not a finite number", ctx, s));
  }
  return d;
}

}  // namespace

Result<std::unique_ptr<TreeEnsembleRegressor>> TreeEnsembleRegressor::Create(
    std::size_t input_size, TreeEnsembleParams params, std::vector<RegressionTree> trees) {
  if (input_size == 0 || input_size > kMaxInputs) {
    return Status::InvalidArgument(
        fmt::format("tree_ensemble: input size {} is not in 1..{}", input_size, kMaxInputs));
  }
  if (!std::isfinite(params.base_score) || !std::isfinite(params.learning_rate)) {
    return Status::InvalidArgument("tree_ensemble: base score or learning rate is not finite");
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < trees.size(); ++i) {
    total += trees[i].left.size();
    if (total > kMaxTotalNodes) return Status::OutOfRange("tree_ensemble: too many nodes");
    WATTSON_RETURN_IF_ERROR(ValidateTree(trees[i], input_size, i));
  }
  return std::unique_ptr<TreeEnsembleRegressor>(
      new TreeEnsembleRegressor(input_size, params, std::move(trees)));
}

namespace {

// The largest float f with "x <= f" equivalent to the library's decision for every float x:
// sklearn compares double(x) <= t, XGBoost compares x < float(t).
float FloatThreshold(double t, SplitRule rule) {
  if (rule == SplitRule::kLessEqual) {
    float f = static_cast<float>(t);
    if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
  }
  const float f = static_cast<float>(t);
  // x < -inf never holds; x <= NaN never holds either.
  if (f == -std::numeric_limits<float>::infinity()) return std::numeric_limits<float>::quiet_NaN();
  return std::nextafter(f, -std::numeric_limits<float>::infinity());
}

}  // namespace

TreeEnsembleRegressor::TreeEnsembleRegressor(std::size_t input_size, TreeEnsembleParams params,
                                             std::vector<RegressionTree> trees)
    : input_size_(input_size), params_(params), trees_(std::move(trees)) {
  flat_trees_.reserve(trees_.size());
  for (const auto& t : trees_) {
    const auto base = static_cast<std::uint32_t>(flat_nodes_.size());
    std::vector<std::uint32_t> depth(t.left.size(), 0);
    std::uint32_t max_depth = 0;
    for (std::size_t i = 0; i < t.left.size(); ++i) {
      const auto self = base + static_cast<std::uint32_t>(i);
      const bool leaf = t.left[i] == -1;
      // Children come after every parent (validated), so depth[i] is final here.
      max_depth = std::max(max_depth, depth[i]);
      if (!leaf) {
        for (std::int32_t child : {t.left[i], t.right[i]}) {
          auto& d = depth[static_cast<std::size_t>(child)];
          d = std::max(d, depth[i] + 1);
        }
      }
      flat_nodes_.push_back(leaf ? FlatNode{0.0f, 0, self, self}
                                 : FlatNode{FloatThreshold(t.threshold[i], params_.split),
                                            static_cast<std::uint32_t>(t.feature[i]),
                                            base + static_cast<std::uint32_t>(t.left[i]),
                                            base + static_cast<std::uint32_t>(t.right[i])});
      leaf_f64_.push_back(params_.learning_rate * t.value[i]);
      leaf_f32_.push_back(static_cast<float>(params_.learning_rate) *
                          static_cast<float>(t.value[i]));
    }
    flat_trees_.push_back(FlatTree{base, max_depth});
  }
  BuildShallowLayout();
}

void TreeEnsembleRegressor::BuildShallowLayout() {
  constexpr std::uint32_t kDepth = 3;
  if (input_size_ > 8 || flat_trees_.empty() || !CpuHasAvx2()) return;
  for (const FlatTree& t : flat_trees_) {
    if (t.depth > kDepth) return;
  }
  shallow_trees_.resize(flat_trees_.size());
  for (std::size_t t = 0; t < flat_trees_.size(); ++t) {
    ShallowTree& st = shallow_trees_[t];
    for (int j = 0; j < 8; ++j) {
      st.feature[j] = 0;
      st.threshold[j] = std::numeric_limits<float>::infinity();  // padding: always left
    }
    // Walks the tree filling perfect-tree slot `slot` (0..6 splits, 7..14 leaves) from node. A
    // leaf above the last level becomes always-left splits down to a leaf slot; its value fills
    // every leaf slot below it.
    auto fill = [&](auto&& self, std::uint32_t node, std::size_t slot) -> void {
      const FlatNode& n = flat_nodes_[node];
      const bool leaf = n.left == node;
      if (slot >= 7) {
        const std::size_t k = slot - 7;
        std::uint64_t bits = 0;
        static_assert(sizeof(bits) == sizeof(double));
        std::memcpy(&bits, &leaf_f64_[node], sizeof(bits));
        st.leaf_lo[k] = static_cast<std::uint32_t>(bits);
        st.leaf_hi[k] = static_cast<std::uint32_t>(bits >> 32);
        st.leaf_f32[k] = leaf_f32_[node];
        return;
      }
      if (!leaf) {
        st.feature[slot] = static_cast<std::int32_t>(n.feature);
        st.threshold[slot] = n.threshold;
      }
      self(self, leaf ? node : n.left, 2 * slot + 1);
      self(self, leaf ? node : n.right, 2 * slot + 2);
    };
    fill(fill, flat_trees_[t].root, 0);
  }
}

template <typename Acc>
void TreeEnsembleRegressor::PredictBlock(const float* x, std::size_t rows, double* out) const {
  constexpr std::size_t kBlock = 8;
  const std::size_t n = input_size_;
  const Acc* leaf_values = nullptr;
  if constexpr (std::is_same_v<Acc, double>) {
    leaf_values = leaf_f64_.data();
  } else {
    leaf_values = leaf_f32_.data();
  }
  const FlatNode* nodes = flat_nodes_.data();
  for (std::size_t r0 = 0; r0 < rows; r0 += kBlock) {
    const std::size_t m = std::min(kBlock, rows - r0);
    const float* xb = x + r0 * n;
    Acc sum[kBlock];
    for (std::size_t r = 0; r < kBlock; ++r) sum[r] = static_cast<Acc>(params_.base_score);
    std::uint32_t idx[kBlock];
    for (const FlatTree& t : flat_trees_) {
      for (std::size_t r = 0; r < kBlock; ++r) idx[r] = t.root;
      for (std::uint32_t d = 0; d < t.depth; ++d) {
        for (std::size_t r = 0; r < kBlock; ++r) {
          // Rows past m repeat row 0 of the block: harmless work, no branch.
          const std::size_t row = r < m ? r : 0;
          const FlatNode& node = nodes[idx[r]];
          idx[r] = xb[row * n + node.feature] <= node.threshold ? node.left : node.right;
        }
      }
      for (std::size_t r = 0; r < kBlock; ++r) sum[r] += leaf_values[idx[r]];
    }
    for (std::size_t r = 0; r < m; ++r) out[r0 + r] = static_cast<double>(sum[r]);
  }
}

namespace {

// Eight rows through every tree of a shallow ensemble; xt[f][r] is feature f of row r (features
// past the model's inputs are 0). Each row's sum starts at base and adds its leaf of tree 0, 1,
// ... in order, in Acc (double or float) as the libraries do; out[r] is row r's sum.
#if defined(__x86_64__)
template <typename Acc>
__attribute__((target("avx2"))) void ShallowRows8(const float (*xt)[8], const ShallowTree* trees,
                                                  std::size_t count, double base, double* out) {
  const __m256i four = _mm256_set1_epi32(4);
  const __m256i two = _mm256_set1_epi32(2);
  const __m256i one = _mm256_set1_epi32(1);
  // float64: rows {0, 1, 4, 5} in sum_a, {2, 3, 6, 7} in sum_b (the order 32-bit unpacking gives);
  // float32: rows 0..7 in sum_f.
  __m256d sum_a = _mm256_set1_pd(base);
  __m256d sum_b = sum_a;
  __m256 sum_f = _mm256_set1_ps(static_cast<float>(base));
  for (std::size_t t = 0; t < count; ++t) {
    const ShallowTree& tree = trees[t];
    // Per row: all 1s where the row goes left at split j (unrolled so p stays in registers).
    __m256 p[7];
#pragma GCC unroll 7
    for (int j = 0; j < 7; ++j) {
      p[j] = _mm256_cmp_ps(_mm256_load_ps(xt[tree.feature[j]]), _mm256_set1_ps(tree.threshold[j]),
                           _CMP_LE_OQ);
    }
    const __m256 q1 = _mm256_blendv_ps(p[2], p[1], p[0]);  // the level-1 split's decision
    const __m256 under_left = _mm256_blendv_ps(p[4], p[3], q1);
    const __m256 under_right = _mm256_blendv_ps(p[6], p[5], q1);
    const __m256 q2 = _mm256_blendv_ps(under_right, under_left, p[0]);
    const __m256i right0 = _mm256_andnot_si256(_mm256_castps_si256(p[0]), four);
    const __m256i right1 = _mm256_andnot_si256(_mm256_castps_si256(q1), two);
    const __m256i right2 = _mm256_andnot_si256(_mm256_castps_si256(q2), one);
    const __m256i leaf = _mm256_or_si256(right0, _mm256_or_si256(right1, right2));
    if constexpr (std::is_same_v<Acc, double>) {
      const __m256i lo = _mm256_permutevar8x32_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(tree.leaf_lo)), leaf);
      const __m256i hi = _mm256_permutevar8x32_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(tree.leaf_hi)), leaf);
      sum_a = _mm256_add_pd(sum_a, _mm256_castsi256_pd(_mm256_unpacklo_epi32(lo, hi)));
      sum_b = _mm256_add_pd(sum_b, _mm256_castsi256_pd(_mm256_unpackhi_epi32(lo, hi)));
    } else {
      sum_f = _mm256_add_ps(sum_f, _mm256_permutevar8x32_ps(_mm256_load_ps(tree.leaf_f32), leaf));
    }
  }
  if constexpr (std::is_same_v<Acc, double>) {
    alignas(32) double a[4];
    alignas(32) double b[4];
    _mm256_store_pd(a, sum_a);
    _mm256_store_pd(b, sum_b);
    const double rows[8] = {a[0], a[1], b[0], b[1], a[2], a[3], b[2], b[3]};
    std::copy(rows, rows + 8, out);
  } else {
    alignas(32) float f[8];
    _mm256_store_ps(f, sum_f);
    for (int r = 0; r < 8; ++r) out[r] = static_cast<double>(f[r]);
  }
}
#else
template <typename Acc>
void ShallowRows8(const float (*xt)[8], const ShallowTree* trees, std::size_t count, double base,
                  double* out) {
  for (int r = 0; r < 8; ++r) {
    Acc sum = static_cast<Acc>(base);
    for (std::size_t t = 0; t < count; ++t) {
      int slot = 0;
      while (slot < 7) {
        const bool left = xt[trees[t].feature[slot]][r] <= trees[t].threshold[slot];
        slot = 2 * slot + (left ? 1 : 2);
      }
      if constexpr (std::is_same_v<Acc, double>) {
        const std::uint64_t bits =
            (std::uint64_t{trees[t].leaf_hi[slot - 7]} << 32) | trees[t].leaf_lo[slot - 7];
        double v = 0;
        std::memcpy(&v, &bits, sizeof(v));
        sum += v;
      } else {
        sum += trees[t].leaf_f32[slot - 7];
      }
    }
    out[r] = static_cast<double>(sum);
  }
}
#endif

}  // namespace

bool CpuHasAvx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2") != 0;
#else
  return false;
#endif
}

template <typename Acc>
void TreeEnsembleRegressor::PredictShallow(const float* x, std::size_t rows, double* out) const {
  constexpr std::size_t kBlock = 8;
  const std::size_t n = input_size_;
  alignas(32) float xt[8][kBlock];  // [feature][row] of one block; unused entries stay 0
  double sums[kBlock];
  for (std::size_t r0 = 0; r0 < rows; r0 += kBlock) {
    const std::size_t m = std::min(kBlock, rows - r0);
    std::fill(&xt[0][0], &xt[0][0] + 8 * kBlock, 0.0f);
    for (std::size_t r = 0; r < m; ++r) {
      for (std::size_t f = 0; f < n; ++f) xt[f][r] = x[(r0 + r) * n + f];
    }
    ShallowRows8<Acc>(xt, shallow_trees_.data(), shallow_trees_.size(), params_.base_score, sums);
    std::copy(sums, sums + m, out + r0);
  }
}

void TreeEnsembleRegressor::PredictBatch(std::span<const double> x, const SystemFeatures& system,
                                         std::span<double> out) const {
  const std::size_t n = input_size_;
  const std::size_t rows = out.size();
  // Both libraries compare features as float32. Rows with a NaN take the per-row path, which
  // knows default_left.
  std::vector<float> xf(rows * n);
  bool any_nan = false;
  for (std::size_t i = 0; i < rows * n; ++i) {
    xf[i] = static_cast<float>(x[i]);
    any_nan |= std::isnan(xf[i]);
  }
  const bool f32 = params_.accumulation == Accumulation::kFloat32;
  if (!shallow_trees_.empty()) {
    f32 ? PredictShallow<float>(xf.data(), rows, out.data())
        : PredictShallow<double>(xf.data(), rows, out.data());
  } else {
    f32 ? PredictBlock<float>(xf.data(), rows, out.data())
        : PredictBlock<double>(xf.data(), rows, out.data());
  }
  if (!any_nan) return;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isnan(xf[r * n + i])) {
        out[r] = Predict(x.subspan(r * n, n), system);
        break;
      }
    }
  }
}

std::size_t TreeEnsembleRegressor::Leaf(const RegressionTree& t, std::span<const float> x) const {
  std::size_t node = 0;
  std::size_t steps = 0;
  while (t.left[node] != -1 && steps++ < kMaxTreeDepth * 64) {
    const float v = x[static_cast<std::size_t>(t.feature[node])];
    bool go_left;
    if (std::isnan(v)) {
      go_left = !t.default_left.empty() && t.default_left[node] != 0;
    } else if (params_.split == SplitRule::kLessEqual) {
      go_left = static_cast<double>(v) <= t.threshold[node];
    } else {
      go_left = v < static_cast<float>(t.threshold[node]);
    }
    node = static_cast<std::size_t>(go_left ? t.left[node] : t.right[node]);
  }
  return node;
}

double TreeEnsembleRegressor::Predict(std::span<const double> x, const SystemFeatures&) const {
  // Both libraries compare features as float32.
  float xf_small[64];
  std::vector<float> xf_big;
  float* xf = xf_small;
  if (x.size() > 64) {
    xf_big.resize(x.size());
    xf = xf_big.data();
  }
  for (std::size_t i = 0; i < x.size(); ++i) xf[i] = static_cast<float>(x[i]);
  const std::span<const float> xs(xf, x.size());
  if (params_.accumulation == Accumulation::kFloat32) {
    float sum = static_cast<float>(params_.base_score);
    const float lr = static_cast<float>(params_.learning_rate);
    for (const auto& t : trees_) sum += lr * static_cast<float>(t.value[Leaf(t, xs)]);
    return static_cast<double>(sum);
  }
  double sum = params_.base_score;
  for (const auto& t : trees_) sum += params_.learning_rate * t.value[Leaf(t, xs)];
  return sum;
}

Json TreeEnsembleRegressor::ToJson() const {
  Json trees = Json::array();
  for (const auto& t : trees_) {
    Json jt{{"left", t.left},
            {"right", t.right},
            {"feature", t.feature},
            {"threshold", t.threshold},
            {"value", t.value}};
    if (!t.default_left.empty()) jt["default_left"] = t.default_left;
    trees.push_back(std::move(jt));
  }
  return Json{
      {"family", "tree_ensemble"},
      {"input_size", input_size_},
      {"base_score", params_.base_score},
      {"learning_rate", params_.learning_rate},
      {"split", params_.split == SplitRule::kLessEqual ? "le" : "lt"},
      {"accumulation", params_.accumulation == Accumulation::kFloat64 ? "float64" : "float32"},
      {"trees", std::move(trees)}};
}

Result<std::unique_ptr<TreeEnsembleRegressor>> TreeEnsembleRegressor::FromJson(
    const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(const Json* n, GetField(j, "input_size", ctx));
  WATTSON_ASSIGN_OR_RETURN(long long input_size,
                           AsInteger(*n, JoinPath(ctx, "input_size"), 1, kMaxInputs));
  TreeEnsembleParams params;
  WATTSON_ASSIGN_OR_RETURN(params.base_score, GetFiniteNumber(j, "base_score", ctx));
  WATTSON_ASSIGN_OR_RETURN(params.learning_rate, GetFiniteNumber(j, "learning_rate", ctx));
  WATTSON_ASSIGN_OR_RETURN(std::string split, GetString(j, "split", ctx));
  if (split == "le") {
    params.split = SplitRule::kLessEqual;
  } else if (split == "lt") {
    params.split = SplitRule::kLess;
  } else {
    return Status::InvalidArgument(JoinPath(ctx, "split") + ": expected \"le\" or \"lt\"");
  }
  WATTSON_ASSIGN_OR_RETURN(std::string acc, GetString(j, "accumulation", ctx));
  if (acc == "float64") {
    params.accumulation = Accumulation::kFloat64;
  } else if (acc == "float32") {
    params.accumulation = Accumulation::kFloat32;
  } else {
    return Status::InvalidArgument(JoinPath(ctx, "accumulation") + ": expected float64 or float32");
  }
  WATTSON_ASSIGN_OR_RETURN(const Json* jt, GetField(j, "trees", ctx));
  if (!jt->is_array())
    return Status::InvalidArgument(JoinPath(ctx, "trees") + ": expected an array");
  std::vector<RegressionTree> trees;
  std::size_t total = 0;
  for (std::size_t i = 0; i < jt->size(); ++i) {
    const std::string tctx = fmt::format("{}.trees[{}]", ctx, i);
    const Json& e = (*jt)[i];
    RegressionTree t;
    WATTSON_ASSIGN_OR_RETURN(t.left, IntArray(e, "left", tctx, kMaxTotalNodes - total));
    total += t.left.size();
    WATTSON_ASSIGN_OR_RETURN(t.right, IntArray(e, "right", tctx, kMaxTotalNodes));
    WATTSON_ASSIGN_OR_RETURN(t.feature, IntArray(e, "feature", tctx, kMaxTotalNodes));
    WATTSON_ASSIGN_OR_RETURN(t.threshold, NumberArray(e, "threshold", tctx, kMaxTotalNodes));
    WATTSON_ASSIGN_OR_RETURN(t.value, NumberArray(e, "value", tctx, kMaxTotalNodes));
    if (FindField(e, "default_left") != nullptr) {
      WATTSON_ASSIGN_OR_RETURN(auto dl, IntArray(e, "default_left", tctx, kMaxTotalNodes));
      t.default_left.assign(dl.begin(), dl.end());
    }
    trees.push_back(std::move(t));
  }
  auto r = Create(static_cast<std::size_t>(input_size), params, std::move(trees));
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

Result<std::unique_ptr<TreeEnsembleRegressor>> TreeEnsembleFromXgboostJson(
    const Json& j, std::string_view what, std::size_t* num_features) {
  const std::string ctx(what);
  WATTSON_ASSIGN_OR_RETURN(const Json* learner, GetField(j, "learner", ctx));
  const std::string lctx = JoinPath(ctx, "learner");
  WATTSON_ASSIGN_OR_RETURN(const Json* lmp, GetField(*learner, "learner_model_param", lctx));
  const std::string pctx = JoinPath(lctx, "learner_model_param");
  WATTSON_ASSIGN_OR_RETURN(const Json* bs, GetField(*lmp, "base_score", pctx));
  WATTSON_ASSIGN_OR_RETURN(double base_score,
                           ParseXgbNumberString(*bs, JoinPath(pctx, "base_score")));
  WATTSON_ASSIGN_OR_RETURN(const Json* nf, GetField(*lmp, "num_feature", pctx));
  WATTSON_ASSIGN_OR_RETURN(double features_d,
                           ParseXgbNumberString(*nf, JoinPath(pctx, "num_feature")));
  if (features_d < 1 || features_d > static_cast<double>(kMaxInputs) ||
      features_d != std::floor(features_d)) {
    return Status::InvalidArgument(JoinPath(pctx, "num_feature") + ": not a valid feature count");
  }
  if (const Json* nt = FindField(*lmp, "num_target")) {
    WATTSON_ASSIGN_OR_RETURN(double targets,
                             ParseXgbNumberString(*nt, JoinPath(pctx, "num_target")));
    if (targets != 1)
      return Status::InvalidArgument(ctx + ": multi-target models are not supported");
  }
  if (const Json* obj = FindField(*learner, "objective")) {
    if (const Json* name = FindField(*obj, "name"); name && name->is_string()) {
      static const char* kIdentity[] = {"reg:squarederror", "reg:linear", "reg:absoluteerror",
                                        "reg:pseudohubererror", "reg:quantileerror"};
      bool ok = false;
      for (const char* s : kIdentity) ok = ok || name->get<std::string>() == s;
      if (!ok) {
        return Status::InvalidArgument(
            fmt::format("{}: objective '{}' is not an identity-link regression", ctx,
                        name->get<std::string>()));
      }
    }
  }
  WATTSON_ASSIGN_OR_RETURN(const Json* gb, GetField(*learner, "gradient_booster", lctx));
  const std::string gctx = JoinPath(lctx, "gradient_booster");
  if (const Json* name = FindField(*gb, "name");
      name && name->is_string() && name->get<std::string>() != "gbtree") {
    return Status::InvalidArgument(fmt::format("{}: booster '{}' is not supported (gbtree only)",
                                               gctx, name->get<std::string>()));
  }
  WATTSON_ASSIGN_OR_RETURN(const Json* model, GetField(*gb, "model", gctx));
  const std::string mctx = JoinPath(gctx, "model");
  WATTSON_ASSIGN_OR_RETURN(const Json* jtrees, GetField(*model, "trees", mctx));
  if (!jtrees->is_array()) return Status::InvalidArgument(mctx + ".trees: expected an array");
  std::vector<RegressionTree> trees;
  std::size_t total = 0;
  for (std::size_t i = 0; i < jtrees->size(); ++i) {
    const Json& e = (*jtrees)[i];
    const std::string tctx = fmt::format("{}.trees[{}]", mctx, i);
    if (const Json* cats = FindField(e, "categories"); cats && cats->is_array() && !cats->empty()) {
      return Status::InvalidArgument(tctx + ": categorical splits are not supported");
    }
    RegressionTree t;
    WATTSON_ASSIGN_OR_RETURN(t.left, IntArray(e, "left_children", tctx, kMaxTotalNodes - total));
    total += t.left.size();
    WATTSON_ASSIGN_OR_RETURN(t.right, IntArray(e, "right_children", tctx, kMaxTotalNodes));
    WATTSON_ASSIGN_OR_RETURN(t.feature, IntArray(e, "split_indices", tctx, kMaxTotalNodes));
    WATTSON_ASSIGN_OR_RETURN(t.threshold, NumberArray(e, "split_conditions", tctx, kMaxTotalNodes));
    WATTSON_ASSIGN_OR_RETURN(auto dl, IntArray(e, "default_left", tctx, kMaxTotalNodes));
    t.default_left.assign(dl.begin(), dl.end());
    // XGBoost keeps a leaf's value in split_conditions.
    t.value = t.threshold;
    for (std::size_t k = 0; k < t.left.size() && k < t.threshold.size(); ++k) {
      if (k < t.left.size() && t.left[k] != -1) t.value[k] = 0.0;
    }
    trees.push_back(std::move(t));
  }
  TreeEnsembleParams params;
  params.base_score = base_score;
  params.learning_rate = 1.0;
  params.split = SplitRule::kLess;
  params.accumulation = Accumulation::kFloat32;
  const auto n = static_cast<std::size_t>(features_d);
  if (num_features != nullptr) *num_features = n;
  auto r = TreeEnsembleRegressor::Create(n, params, std::move(trees));
  if (!r.ok()) return r.status().WithContext(ctx);
  return r;
}

}  // namespace wattson
