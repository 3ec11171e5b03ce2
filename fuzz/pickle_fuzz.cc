// Fuzzes the safe pickle reader: any input must parse or fail with a Status (never crash, hang or
// leak), and a parsed tree must be describable and its arrays convertible without error escaping.
#include <cstddef>
#include <cstdint>
#include <span>

#include "models/archive/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wattson::archive::PickleOptions options;
  options.limits.max_input_bytes = size_t{1} << 20;
  options.limits.max_array_bytes = size_t{16} << 20;
  auto tree = wattson::archive::ParsePickle(std::span<const uint8_t>(data, size), options);
  if (!tree.ok()) return 0;
  (void)wattson::archive::DescribeNode(tree->root(), 4096);
  const wattson::archive::PyNode& root = tree->root();
  for (const char* key : {"scale_", "coef_", "intercept_", "_fit_X", "popt", "support_vectors_"}) {
    const wattson::archive::PyNode* n = root.Get(key);
    if (n != nullptr && n->kind == wattson::archive::PyKind::kArray) {
      (void)n->array->ToDoubles();
      (void)n->array->ToInts();
      for (const auto& f : n->array->dtype.fields) (void)n->array->FieldToDoubles(f.name);
    }
  }
  return 0;
}
