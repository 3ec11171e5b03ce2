// A safe reader for the pickle streams in Kepler's model archives (joblib dumps of scikit-learn
// and kepler_model objects). It never imports or calls anything: it builds a plain object tree
// (class name + arguments + state, containers, numbers, strings, bytes, numpy arrays) and rejects
// any global outside an allow-list, any malformed stream and any size over PickleLimits with a
// Status that names the byte offset and the opcode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace wattson::archive {

// Upper bounds on what one stream may make the reader allocate or do.
struct PickleLimits {
  size_t max_input_bytes = size_t{256} << 20;
  size_t max_nodes = size_t{1} << 22;           // values of all kinds, arrays included
  size_t max_stack = size_t{1} << 20;           // items on the unpickler stack
  size_t max_marks = 256;                       // open MARKs (container nesting while building)
  size_t max_memo = size_t{1} << 20;            // memo entries
  size_t max_string_bytes = size_t{64} << 20;   // one str or bytes value
  size_t max_array_bytes = size_t{256} << 20;   // one numpy array's data
  size_t max_array_elements = size_t{1} << 26;  // one numpy array's element count
  size_t max_depth = 128;                       // nesting of the finished tree and nested streams
};

struct PickleOptions {
  PickleLimits limits;
  // "module.name" of every global the stream may name. Empty means DefaultAllowedGlobals().
  std::vector<std::string> allowed_globals;
  // Read joblib's NumpyArrayWrapper payloads (array bytes inline after the wrapper's BUILD).
  bool joblib = true;
};

// The globals that Kepler's archives (scikit-learn 1.5, numpy 2, joblib, kepler_model) name.
const std::vector<std::string>& DefaultAllowedGlobals();

// A numpy dtype: a scalar ('f', 'i', 'u', 'b', 'O') or a structured record ('V') with fields.
struct DType {
  struct Field {
    std::string name;
    char kind = 'f';
    size_t itemsize = 8;
    bool big_endian = false;
    size_t offset = 0;
  };
  char kind = 'f';
  size_t itemsize = 8;
  bool big_endian = false;
  std::vector<Field> fields;  // only for kind 'V'

  std::string ToString() const;  // e.g. "<f8", "|V64{left_child:<i8@0,...}"
};

struct PyNode;

// A numpy array read from the stream: raw little/big-endian data, or object elements.
struct PyArray {
  DType dtype;
  std::vector<size_t> shape;  // empty for a 0-d array (numpy scalar)
  bool fortran_order = false;
  std::vector<uint8_t> data;           // element bytes (non-object dtypes)
  std::vector<const PyNode*> objects;  // elements (object dtype), in C order

  size_t size() const;  // element count (product of shape; 1 for 0-d)
  // Numeric scalar dtype ('f', 'i', 'u', 'b') converted to double, C order.
  Result<std::vector<double>> ToDoubles() const;
  Result<std::vector<int64_t>> ToInts() const;  // integer or bool dtypes only
  // One field of a structured ('V') array, C order.
  Result<std::vector<double>> FieldToDoubles(std::string_view field) const;
  Result<std::vector<int64_t>> FieldToInts(std::string_view field) const;
  bool HasField(std::string_view field) const;
};

enum class PyKind {
  kNone,
  kBool,
  kInt,     // fits int64
  kBigInt,  // LONG1/LONG4 wider than 64 bits: two's complement little-endian bytes in `str`
  kFloat,
  kStr,    // UTF-8 in `str`
  kBytes,  // raw bytes in `str`
  kTuple,
  kList,
  kDict,
  kGlobal,  // module + name (never resolved)
  kObject,  // cls (a kGlobal) + args (a kTuple) + state (set by BUILD, may be null)
  kArray,
};

std::string_view KindName(PyKind kind);

// One value of the tree. Nodes are owned by their PickleTree; pointers stay valid while it lives.
struct PyNode {
  PyKind kind = PyKind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0.0;
  std::string str;
  std::vector<const PyNode*> items;                              // tuple, list
  std::vector<std::pair<const PyNode*, const PyNode*>> entries;  // dict, insertion order
  std::string module, name;                                      // global
  const PyNode* cls = nullptr;                                   // object
  const PyNode* args = nullptr;
  const PyNode* state = nullptr;
  std::unique_ptr<PyArray> array;  // array

  // "module.name" for a global or for an object's class; "" otherwise.
  std::string ClassName() const;
  // Dict lookup by str key; for an object, lookup in its dict state. nullptr if absent.
  const PyNode* Get(std::string_view key) const;
  // Numeric value of a bool, int, float or one-element numeric array.
  Result<double> AsDouble() const;
  Result<int64_t> AsInt() const;  // bool, int, or one-element integer array
  Result<std::string> AsStr() const;
};

// The result of parsing one stream: the root value and the arena that owns every node.
class PickleTree {
 public:
  PickleTree() = default;
  PickleTree(PickleTree&&) noexcept = default;
  PickleTree& operator=(PickleTree&&) noexcept = default;
  PickleTree(const PickleTree&) = delete;
  PickleTree& operator=(const PickleTree&) = delete;

  const PyNode& root() const { return *root_; }
  size_t node_count() const { return nodes_.size(); }

 private:
  friend class PickleParser;
  std::vector<std::unique_ptr<PyNode>> nodes_;
  const PyNode* root_ = nullptr;
};

// Parses one pickle stream (protocol 2 to 5) that must end at STOP with no bytes after it. The
// tree is acyclic (cycles are rejected) and no deeper than limits.max_depth.
Result<PickleTree> ParsePickle(std::span<const uint8_t> data, const PickleOptions& options = {});

// A short human-readable dump of a tree (for errors, debugging and tests), at most max_chars.
std::string DescribeNode(const PyNode& node, size_t max_chars = 2000);

}  // namespace wattson::archive
