// Fuzzes the safe pickle reader and the interpreters over it: any input must parse or fail with a
// Status (never crash, hang or leak); a parsed tree must be describable, its arrays convertible,
// and any transform or estimator an interpreter builds from it must give finite outputs (a
// regressor's value may be anything finite; non-finite values must be caught by PowerModel).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_util.h"
#include "models/archive/pickle.h"
#include "models/archive/sklearn_interpreters.h"

namespace {

using wattson::archive::PyKind;
using wattson::archive::PyNode;

void Interpret(const PyNode& root) {
  for (std::size_t width : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    if (auto t = wattson::archive::TransformFromPickle(root, width, "fuzz"); t.ok()) {
      if ((*t)->input_size() != width) wattson::fuzz::Fail("transform input size differs");
      std::vector<double> in(width, 0.5), out((*t)->output_size());
      (*t)->Apply(in, out);
    }
    if (auto r = wattson::archive::RegressorFromPickle(root, width, "fuzz"); r.ok()) {
      if ((*r)->input_size() != width) wattson::fuzz::Fail("regressor input size differs");
      std::vector<double> x(width, 0.25);
      (void)(*r)->Predict(x, {});
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wattson::archive::PickleOptions options;
  options.limits.max_input_bytes = size_t{1} << 20;
  options.limits.max_array_bytes = size_t{16} << 20;
  auto tree = wattson::archive::ParsePickle(std::span<const uint8_t>(data, size), options);
  if (!tree.ok()) return 0;
  (void)wattson::archive::DescribeNode(tree->root(), 4096);
  const PyNode& root = tree->root();
  for (const char* key : {"scale_", "coef_", "intercept_", "_fit_X", "popt", "support_vectors_"}) {
    const PyNode* n = root.Get(key);
    if (n != nullptr && n->kind == PyKind::kArray) {
      (void)n->array->ToDoubles();
      (void)n->array->ToInts();
      for (const auto& f : n->array->dtype.fields) (void)n->array->FieldToDoubles(f.name);
    }
  }
  Interpret(root);
  return 0;
}
