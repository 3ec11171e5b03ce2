#include "models/transform.h"

#include <cmath>

#include "fmt/format.h"

namespace wattson {

namespace {

constexpr std::size_t kMaxTransformWidth = 1u << 16;

Status CheckFinite(const std::vector<double>& v, std::string_view what) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return Status::InvalidArgument(fmt::format("{}[{}] is not finite", what, i));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<MaxAbsTransform>> MaxAbsTransform::Create(std::vector<double> scale) {
  WATTSON_RETURN_IF_ERROR(CheckFinite(scale, "maxabs scale"));
  if (scale.size() > kMaxTransformWidth) return Status::OutOfRange("maxabs: too many features");
  return std::unique_ptr<MaxAbsTransform>(new MaxAbsTransform(std::move(scale)));
}

void MaxAbsTransform::Apply(std::span<const double> in, std::span<double> out) const {
  for (std::size_t i = 0; i < scale_.size(); ++i) {
    out[i] = scale_[i] == 0.0 ? 0.0 : in[i] / scale_[i];
  }
}

Json MaxAbsTransform::ToJson() const { return Json{{"type", "maxabs"}, {"scale", scale_}}; }

Result<std::unique_ptr<StandardTransform>> StandardTransform::Create(std::vector<double> mean,
                                                                     std::vector<double> scale) {
  if (mean.size() != scale.size()) {
    return Status::InvalidArgument(
        fmt::format("standard: mean has {} values, scale has {}", mean.size(), scale.size()));
  }
  if (mean.size() > kMaxTransformWidth) return Status::OutOfRange("standard: too many features");
  WATTSON_RETURN_IF_ERROR(CheckFinite(mean, "standard mean"));
  WATTSON_RETURN_IF_ERROR(CheckFinite(scale, "standard scale"));
  return std::unique_ptr<StandardTransform>(
      new StandardTransform(std::move(mean), std::move(scale)));
}

void StandardTransform::Apply(std::span<const double> in, std::span<double> out) const {
  for (std::size_t i = 0; i < mean_.size(); ++i) {
    double centred = in[i] - mean_[i];
    out[i] = scale_[i] == 0.0 ? centred : centred / scale_[i];
  }
}

Json StandardTransform::ToJson() const {
  return Json{{"type", "standard"}, {"mean", mean_}, {"scale", scale_}};
}

PolynomialTransform::PolynomialTransform(std::size_t n, int degree, bool include_bias)
    : n_(n), degree_(degree), include_bias_(include_bias) {
  if (include_bias_) terms_.push_back({});
  // Terms of each degree d in lexicographic order of non-decreasing index tuples.
  for (int d = 1; d <= degree_; ++d) {
    std::vector<std::size_t> idx(static_cast<std::size_t>(d), 0);
    if (n_ == 0) break;
    for (;;) {
      terms_.push_back(idx);
      // Next non-decreasing tuple.
      int pos = d - 1;
      while (pos >= 0 && idx[static_cast<std::size_t>(pos)] == n_ - 1) --pos;
      if (pos < 0) break;
      std::size_t v = idx[static_cast<std::size_t>(pos)] + 1;
      for (int k = pos; k < d; ++k) idx[static_cast<std::size_t>(k)] = v;
    }
  }
}

Result<std::unique_ptr<PolynomialTransform>> PolynomialTransform::Create(std::size_t input_size,
                                                                         int degree,
                                                                         bool include_bias) {
  if (degree < 1 || degree > 3) {
    return Status::InvalidArgument(fmt::format("polynomial: degree {} is not in 1..3", degree));
  }
  if (input_size > 256) {
    return Status::OutOfRange(
        fmt::format("polynomial: {} inputs is over the limit of 256", input_size));
  }
  return std::unique_ptr<PolynomialTransform>(
      new PolynomialTransform(input_size, degree, include_bias));
}

void PolynomialTransform::Apply(std::span<const double> in, std::span<double> out) const {
  for (std::size_t t = 0; t < terms_.size(); ++t) {
    double v = 1.0;
    for (std::size_t i : terms_[t]) v *= in[i];
    out[t] = v;
  }
}

Json PolynomialTransform::ToJson() const {
  return Json{{"type", "polynomial"},
              {"input_size", n_},
              {"degree", degree_},
              {"include_bias", include_bias_}};
}

std::string_view DerivedOpName(DerivedOp op) {
  switch (op) {
    case DerivedOp::kRatio:
      return "ratio";
    case DerivedOp::kProduct:
      return "product";
    case DerivedOp::kLog1p:
      return "log1p";
    case DerivedOp::kSqrt:
      return "sqrt";
    case DerivedOp::kSquare:
      return "square";
  }
  return "ratio";
}

namespace {

bool Binary(DerivedOp op) { return op == DerivedOp::kRatio || op == DerivedOp::kProduct; }

}  // namespace

Result<std::unique_ptr<DerivedTransform>> DerivedTransform::Create(std::size_t input_size,
                                                                   std::vector<DerivedTerm> terms) {
  if (input_size > kMaxTransformWidth || terms.size() > kMaxTransformWidth - input_size) {
    return Status::OutOfRange("derived: too many features");
  }
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const DerivedTerm& t = terms[k];
    const std::size_t built = input_size + k;
    if (t.a >= built || (Binary(t.op) && t.b >= built)) {
      return Status::InvalidArgument(
          fmt::format("derived: term {} ({}) refers to an entry at or after its own position {}", k,
                      DerivedOpName(t.op), built));
    }
    if (t.op == DerivedOp::kLog1p && !(std::isfinite(t.scale) && t.scale > 0)) {
      return Status::InvalidArgument(fmt::format(
          "derived: term {} (log1p) has scale {}, which is not finite and > 0", k, t.scale));
    }
  }
  return std::unique_ptr<DerivedTransform>(new DerivedTransform(input_size, std::move(terms)));
}

void DerivedTransform::Apply(std::span<const double> in, std::span<double> out) const {
  for (std::size_t i = 0; i < n_; ++i) out[i] = in[i];
  for (std::size_t k = 0; k < terms_.size(); ++k) {
    const DerivedTerm& t = terms_[k];
    const double a = out[t.a];
    double v = 0;
    switch (t.op) {
      case DerivedOp::kRatio: {
        const double b = out[t.b];
        v = b == 0.0 ? 0.0 : a / b;
        break;
      }
      case DerivedOp::kProduct:
        v = a * out[t.b];
        break;
      case DerivedOp::kLog1p:
        v = std::copysign(std::log1p(t.scale * std::fabs(a)), a);
        break;
      case DerivedOp::kSqrt:
        v = std::copysign(std::sqrt(std::fabs(a)), a);
        break;
      case DerivedOp::kSquare:
        v = a * a;
        break;
    }
    out[n_ + k] = v;
  }
}

Json DerivedTransform::ToJson() const {
  Json terms = Json::array();
  for (const DerivedTerm& t : terms_) {
    Json jt{{"op", DerivedOpName(t.op)}};
    if (Binary(t.op)) {
      jt["args"] = {t.a, t.b};
    } else {
      jt["args"] = {t.a};
    }
    if (t.op == DerivedOp::kLog1p) jt["scale"] = t.scale;
    if (!t.name.empty()) jt["name"] = t.name;
    terms.push_back(std::move(jt));
  }
  return Json{{"type", "derived"}, {"input_size", n_}, {"terms", std::move(terms)}};
}

namespace {

Result<std::unique_ptr<Transform>> DerivedFromJson(const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(const Json* n, GetField(j, "input_size", ctx));
  WATTSON_ASSIGN_OR_RETURN(
      long long input_size,
      AsInteger(*n, JoinPath(ctx, "input_size"), 0, static_cast<long long>(kMaxTransformWidth)));
  WATTSON_ASSIGN_OR_RETURN(const Json* jterms, GetField(j, "terms", ctx));
  const std::string tctx = JoinPath(ctx, "terms");
  if (!jterms->is_array()) return Status::InvalidArgument(tctx + ": expected an array");
  if (jterms->size() > kMaxTransformWidth) return Status::OutOfRange(tctx + ": too many terms");
  std::vector<DerivedTerm> terms;
  terms.reserve(jterms->size());
  for (std::size_t k = 0; k < jterms->size(); ++k) {
    const Json& jt = (*jterms)[k];
    const std::string kctx = fmt::format("{}[{}]", tctx, k);
    if (!jt.is_object()) return Status::InvalidArgument(kctx + ": expected an object");
    DerivedTerm t;
    WATTSON_ASSIGN_OR_RETURN(std::string op, GetString(jt, "op", kctx));
    if (op == "ratio") {
      t.op = DerivedOp::kRatio;
    } else if (op == "product") {
      t.op = DerivedOp::kProduct;
    } else if (op == "log1p") {
      t.op = DerivedOp::kLog1p;
    } else if (op == "sqrt") {
      t.op = DerivedOp::kSqrt;
    } else if (op == "square") {
      t.op = DerivedOp::kSquare;
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown op '{}' (ratio, product, log1p, sqrt, square)", JoinPath(kctx, "op"), op));
    }
    WATTSON_ASSIGN_OR_RETURN(const Json* args, GetField(jt, "args", kctx));
    const std::string actx = JoinPath(kctx, "args");
    const std::size_t want = Binary(t.op) ? 2 : 1;
    if (!args->is_array() || args->size() != want) {
      return Status::InvalidArgument(
          fmt::format("{}: expected an array of {} indices for '{}'", actx, want, op));
    }
    const long long limit = input_size + static_cast<long long>(k) - 1;
    if (limit < 0) {
      return Status::InvalidArgument(kctx + ": there is no entry for the term to refer to");
    }
    WATTSON_ASSIGN_OR_RETURN(long long a, AsInteger((*args)[0], actx + "[0]", 0, limit));
    t.a = static_cast<std::size_t>(a);
    if (want == 2) {
      WATTSON_ASSIGN_OR_RETURN(long long b, AsInteger((*args)[1], actx + "[1]", 0, limit));
      t.b = static_cast<std::size_t>(b);
    }
    if (const Json* sc = FindField(jt, "scale")) {
      WATTSON_ASSIGN_OR_RETURN(t.scale, AsFiniteNumber(*sc, JoinPath(kctx, "scale")));
    }
    if (const Json* nm = FindField(jt, "name")) {
      WATTSON_ASSIGN_OR_RETURN(t.name, AsString(*nm, JoinPath(kctx, "name")));
    }
    terms.push_back(std::move(t));
  }
  auto t = DerivedTransform::Create(static_cast<std::size_t>(input_size), std::move(terms));
  if (!t.ok()) return t.status().WithContext(ctx);
  return std::unique_ptr<Transform>(std::move(t).value());
}

}  // namespace

Result<std::unique_ptr<Transform>> TransformFromJson(const Json& j, std::string_view ctx) {
  WATTSON_ASSIGN_OR_RETURN(std::string type, GetString(j, "type", ctx));
  if (type == "maxabs") {
    WATTSON_ASSIGN_OR_RETURN(const Json* s, GetField(j, "scale", ctx));
    WATTSON_ASSIGN_OR_RETURN(auto scale,
                             AsFiniteNumberArray(*s, JoinPath(ctx, "scale"), kMaxTransformWidth));
    WATTSON_ASSIGN_OR_RETURN(auto t, MaxAbsTransform::Create(std::move(scale)));
    return std::unique_ptr<Transform>(std::move(t));
  }
  if (type == "standard") {
    WATTSON_ASSIGN_OR_RETURN(const Json* m, GetField(j, "mean", ctx));
    WATTSON_ASSIGN_OR_RETURN(const Json* s, GetField(j, "scale", ctx));
    WATTSON_ASSIGN_OR_RETURN(auto mean,
                             AsFiniteNumberArray(*m, JoinPath(ctx, "mean"), kMaxTransformWidth));
    WATTSON_ASSIGN_OR_RETURN(auto scale,
                             AsFiniteNumberArray(*s, JoinPath(ctx, "scale"), kMaxTransformWidth));
    auto t = StandardTransform::Create(std::move(mean), std::move(scale));
    if (!t.ok()) return t.status().WithContext(ctx);
    return std::unique_ptr<Transform>(std::move(t).value());
  }
  if (type == "polynomial") {
    WATTSON_ASSIGN_OR_RETURN(const Json* n, GetField(j, "input_size", ctx));
    WATTSON_ASSIGN_OR_RETURN(long long input_size,
                             AsInteger(*n, JoinPath(ctx, "input_size"), 0, 256));
    WATTSON_ASSIGN_OR_RETURN(const Json* d, GetField(j, "degree", ctx));
    WATTSON_ASSIGN_OR_RETURN(long long degree, AsInteger(*d, JoinPath(ctx, "degree"), 1, 3));
    bool bias = true;
    if (const Json* b = FindField(j, "include_bias")) {
      if (!b->is_boolean()) {
        return Status::InvalidArgument(
            fmt::format("{}: expected a boolean", JoinPath(ctx, "include_bias")));
      }
      bias = b->get<bool>();
    }
    WATTSON_ASSIGN_OR_RETURN(auto t,
                             PolynomialTransform::Create(static_cast<std::size_t>(input_size),
                                                         static_cast<int>(degree), bias));
    return std::unique_ptr<Transform>(std::move(t));
  }
  if (type == "derived") return DerivedFromJson(j, ctx);
  return Status::InvalidArgument(
      fmt::format("{}: unknown transform type '{}' (maxabs, standard, polynomial, derived)",
                  JoinPath(ctx, "type"), type));
}

}  // namespace wattson
