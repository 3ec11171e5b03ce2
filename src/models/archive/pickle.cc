#include "models/archive/pickle.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace wattson::archive {
namespace {

constexpr std::string_view kNumpyArrayWrapper = "joblib.numpy_pickle.NumpyArrayWrapper";

bool IsReconstruct(const std::string& cls) {
  return cls == "numpy._core.multiarray._reconstruct" ||
         cls == "numpy.core.multiarray._reconstruct";
}
bool IsNumpyScalar(const std::string& cls) {
  return cls == "numpy._core.multiarray.scalar" || cls == "numpy.core.multiarray.scalar";
}

const char* OpcodeName(uint8_t op) {
  switch (op) {
    case 0x80:
      return "PROTO";
    case 0x95:
      return "FRAME";
    case '.':
      return "STOP";
    case 0x94:
      return "MEMOIZE";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 'h':
      return "BINGET";
    case 'j':
      return "LONG_BINGET";
    case 'c':
      return "GLOBAL";
    case 0x93:
      return "STACK_GLOBAL";
    case 'R':
      return "REDUCE";
    case 'b':
      return "BUILD";
    case 0x81:
      return "NEWOBJ";
    case 0x92:
      return "NEWOBJ_EX";
    case '}':
      return "EMPTY_DICT";
    case ']':
      return "EMPTY_LIST";
    case ')':
      return "EMPTY_TUPLE";
    case '(':
      return "MARK";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case 't':
      return "TUPLE";
    case 'l':
      return "LIST";
    case 'd':
      return "DICT";
    case 's':
      return "SETITEM";
    case 'u':
      return "SETITEMS";
    case 'a':
      return "APPEND";
    case 'e':
      return "APPENDS";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'M':
      return "BININT2";
    case 'G':
      return "BINFLOAT";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 'X':
      return "BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 'C':
      return "SHORT_BINBYTES";
    case 'B':
      return "BINBYTES";
    case 0x8e:
      return "BINBYTES8";
    case 'U':
      return "SHORT_BINSTRING";
    case 'T':
      return "BINSTRING";
    case 'N':
      return "NONE";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    default:
      return "unknown";
  }
}

uint64_t LoadLe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
uint64_t LoadElem(const uint8_t* p, size_t n, bool big_endian) {
  if (!big_endian) return LoadLe(p, n);
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Converts one element of a scalar dtype to double (or int64 when as_int is set).
Result<double> ElemToDouble(const uint8_t* p, char kind, size_t size, bool big) {
  uint64_t raw = LoadElem(p, size, big);
  switch (kind) {
    case 'f':
      if (size == 8) return std::bit_cast<double>(raw);
      if (size == 4) return static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(raw)));
      break;
    case 'i': {
      if (size == 0 || size > 8) break;
      int64_t v = static_cast<int64_t>(raw << (64 - 8 * size)) >> (64 - 8 * size);
      return static_cast<double>(v);
    }
    case 'u':
    case 'b':
      if (size == 0 || size > 8) break;
      return static_cast<double>(raw);
    default:
      break;
  }
  return Status::InvalidArgument(fmt::format("dtype {}{} is not numeric", kind, size));
}

Result<int64_t> ElemToInt(const uint8_t* p, char kind, size_t size, bool big) {
  if (size == 0 || size > 8) {
    return Status::InvalidArgument(fmt::format("dtype {}{} is not an integer", kind, size));
  }
  uint64_t raw = LoadElem(p, size, big);
  if (kind == 'i') return static_cast<int64_t>(raw << (64 - 8 * size)) >> (64 - 8 * size);
  if (kind == 'u' || kind == 'b') {
    if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::OutOfRange("unsigned array element does not fit int64");
    }
    return static_cast<int64_t>(raw);
  }
  return Status::InvalidArgument(fmt::format("dtype {}{} is not an integer", kind, size));
}

// Index (in storage order) of the i-th element in C order.
size_t StorageIndex(const PyArray& a, size_t c_index) {
  if (!a.fortran_order || a.shape.size() < 2) return c_index;
  size_t rem = c_index, stride = 1, out = 0;
  std::vector<size_t> idx(a.shape.size());
  for (size_t d = a.shape.size(); d-- > 0;) {
    idx[d] = rem % a.shape[d];
    rem /= a.shape[d];
  }
  for (size_t d = 0; d < a.shape.size(); ++d) {
    out += idx[d] * stride;
    stride *= a.shape[d];
  }
  return out;
}

template <typename T, typename Conv>
Result<std::vector<T>> ConvertArray(const PyArray& a, size_t offset, char kind, size_t size,
                                    bool big, Conv conv) {
  if (a.dtype.kind == 'O') return Status::InvalidArgument("object array is not numeric");
  const size_t n = a.size();
  if (a.data.size() != n * a.dtype.itemsize) return Status::Internal("array data size mismatch");
  std::vector<T> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = a.data.data() + StorageIndex(a, i) * a.dtype.itemsize + offset;
    WATTSON_ASSIGN_OR_RETURN(T v, conv(p, kind, size, big));
    out.push_back(v);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& DefaultAllowedGlobals() {
  static const std::vector<std::string> kGlobals = {
      // joblib and numpy plumbing
      "joblib.numpy_pickle.NumpyArrayWrapper",
      "numpy.ndarray",
      "numpy.dtype",
      "numpy._core.multiarray._reconstruct",
      "numpy.core.multiarray._reconstruct",
      "numpy._core.multiarray.scalar",
      "numpy.core.multiarray.scalar",
      "_codecs.encode",
      "numpy.random._pickle.__randomstate_ctor",
      "numpy.random._pickle.__bit_generator_ctor",
      "numpy.random._pickle.__generator_ctor",
      "numpy.random._mt19937.MT19937",
      "numpy.random.mtrand.RandomState",
      "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
      "numpy.random.bit_generator.SeedSequence",
      // scikit-learn estimators and transformers Kepler trains
      "sklearn.preprocessing._data.MaxAbsScaler",
      "sklearn.preprocessing._polynomial.PolynomialFeatures",
      "sklearn.linear_model._base.LinearRegression",
      "sklearn.linear_model._stochastic_gradient.SGDRegressor",
      "sklearn.ensemble._gb.GradientBoostingRegressor",
      "sklearn.tree._classes.DecisionTreeRegressor",
      "sklearn.tree._tree.Tree",
      "sklearn.dummy.DummyRegressor",
      "sklearn._loss.loss.HalfSquaredError",
      "sklearn._loss._loss.__pyx_unpickle_CyHalfSquaredError",
      "sklearn._loss._loss.CyHalfSquaredError",
      "_loss.__pyx_unpickle_CyHalfSquaredError",  // Cython's module name inside sklearn._loss
      "_loss.CyHalfSquaredError",
      "sklearn._loss.link.IdentityLink",
      "sklearn._loss.link.Interval",
      "sklearn.neighbors._regression.KNeighborsRegressor",
      "sklearn.neighbors._kd_tree.newObj",
      "sklearn.neighbors._kd_tree.KDTree",
      "sklearn.neighbors._ball_tree.newObj",
      "sklearn.neighbors._ball_tree.BallTree",
      "sklearn.metrics._dist_metrics.newObj",
      "sklearn.metrics._dist_metrics.EuclideanDistance64",
      "sklearn.metrics._dist_metrics.MinkowskiDistance64",
      "sklearn.metrics._dist_metrics.ManhattanDistance64",
      "sklearn.svm._classes.SVR",
      // kepler_model's curve fits (both import roots)
      "trainer.curvefit.CurveFitModel",
      "kepler_model.train.trainer.curvefit.CurveFitModel",
      "train.trainer.LogarithmicRegressionTrainer.main.log_func",
      "train.trainer.LogarithmicRegressionTrainer.main.p0_func",
      "train.trainer.ExponentialRegressionTrainer.main.expo_func",
      "train.trainer.ExponentialRegressionTrainer.main.p0_func",
      "train.trainer.LogisticRegressionTrainer.main.logi_func",
      "train.trainer.LogisticRegressionTrainer.main.p0_func",
      "kepler_model.train.trainer.LogarithmicRegressionTrainer.main.log_func",
      "kepler_model.train.trainer.LogarithmicRegressionTrainer.main.p0_func",
      "kepler_model.train.trainer.ExponentialRegressionTrainer.main.expo_func",
      "kepler_model.train.trainer.ExponentialRegressionTrainer.main.p0_func",
      "kepler_model.train.trainer.LogisticRegressionTrainer.main.logi_func",
      "kepler_model.train.trainer.LogisticRegressionTrainer.main.p0_func",
  };
  return kGlobals;
}

std::string DType::ToString() const {
  std::string s = fmt::format("{}{}{}", kind == 'V' || kind == 'b' ? '|' : (big_endian ? '>' : '<'),
                              kind, itemsize);
  if (!fields.empty()) {
    s += "{";
    for (size_t i = 0; i < fields.size(); ++i) {
      const Field& f = fields[i];
      s += fmt::format("{}{}:{}{}{}@{}", i ? "," : "", f.name, f.big_endian ? '>' : '<', f.kind,
                       f.itemsize, f.offset);
    }
    s += "}";
  }
  return s;
}

size_t PyArray::size() const {
  size_t n = 1;
  for (size_t d : shape) n *= d;  // bounded at parse time
  return n;
}

Result<std::vector<double>> PyArray::ToDoubles() const {
  if (dtype.kind == 'V') return Status::InvalidArgument("structured array needs a field name");
  return ConvertArray<double>(*this, 0, dtype.kind, dtype.itemsize, dtype.big_endian, ElemToDouble);
}
Result<std::vector<int64_t>> PyArray::ToInts() const {
  if (dtype.kind == 'V') return Status::InvalidArgument("structured array needs a field name");
  return ConvertArray<int64_t>(*this, 0, dtype.kind, dtype.itemsize, dtype.big_endian, ElemToInt);
}
bool PyArray::HasField(std::string_view field) const {
  return std::any_of(dtype.fields.begin(), dtype.fields.end(),
                     [&](const DType::Field& f) { return f.name == field; });
}
Result<std::vector<double>> PyArray::FieldToDoubles(std::string_view field) const {
  for (const DType::Field& f : dtype.fields) {
    if (f.name == field) {
      return ConvertArray<double>(*this, f.offset, f.kind, f.itemsize, f.big_endian, ElemToDouble);
    }
  }
  return Status::NotFound(fmt::format("array has no field '{}'", field));
}
Result<std::vector<int64_t>> PyArray::FieldToInts(std::string_view field) const {
  for (const DType::Field& f : dtype.fields) {
    if (f.name == field) {
      return ConvertArray<int64_t>(*this, f.offset, f.kind, f.itemsize, f.big_endian, ElemToInt);
    }
  }
  return Status::NotFound(fmt::format("array has no field '{}'", field));
}

std::string_view KindName(PyKind kind) {
  switch (kind) {
    case PyKind::kNone:
      return "None";
    case PyKind::kBool:
      return "bool";
    case PyKind::kInt:
      return "int";
    case PyKind::kBigInt:
      return "bigint";
    case PyKind::kFloat:
      return "float";
    case PyKind::kStr:
      return "str";
    case PyKind::kBytes:
      return "bytes";
    case PyKind::kTuple:
      return "tuple";
    case PyKind::kList:
      return "list";
    case PyKind::kDict:
      return "dict";
    case PyKind::kGlobal:
      return "global";
    case PyKind::kObject:
      return "object";
    case PyKind::kArray:
      return "array";
  }
  return "?";
}

std::string PyNode::ClassName() const {
  if (kind == PyKind::kGlobal) return module + "." + name;
  if (kind == PyKind::kObject && cls != nullptr) return cls->ClassName();
  return "";
}

const PyNode* PyNode::Get(std::string_view key) const {
  const PyNode* dict = this;
  if (kind == PyKind::kObject) dict = state;
  if (dict == nullptr || dict->kind != PyKind::kDict) return nullptr;
  for (const auto& [k, v] : dict->entries) {
    if (k->kind == PyKind::kStr && k->str == key) return v;
  }
  return nullptr;
}

Result<double> PyNode::AsDouble() const {
  switch (kind) {
    case PyKind::kBool:
      return boolean ? 1.0 : 0.0;
    case PyKind::kInt:
      return static_cast<double>(integer);
    case PyKind::kFloat:
      return number;
    case PyKind::kArray: {
      if (array->size() != 1) break;
      WATTSON_ASSIGN_OR_RETURN(std::vector<double> v, array->ToDoubles());
      return v[0];
    }
    default:
      break;
  }
  return Status::InvalidArgument(fmt::format("expected a number, got {}", KindName(kind)));
}

Result<int64_t> PyNode::AsInt() const {
  switch (kind) {
    case PyKind::kBool:
      return boolean ? 1 : 0;
    case PyKind::kInt:
      return integer;
    case PyKind::kArray: {
      if (array->size() != 1) break;
      WATTSON_ASSIGN_OR_RETURN(std::vector<int64_t> v, array->ToInts());
      return v[0];
    }
    default:
      break;
  }
  return Status::InvalidArgument(fmt::format("expected an integer, got {}", KindName(kind)));
}

Result<std::string> PyNode::AsStr() const {
  if (kind == PyKind::kStr) return str;
  return Status::InvalidArgument(fmt::format("expected a str, got {}", KindName(kind)));
}

// The stack machine. One instance per top-level parse; nested streams (joblib object arrays)
// reuse the arena and the input position.
class PickleParser {
 public:
  PickleParser(std::span<const uint8_t> data, const PickleOptions& options)
      : data_(data), options_(options), limits_(options.limits) {
    const auto& allowed =
        options.allowed_globals.empty() ? DefaultAllowedGlobals() : options.allowed_globals;
    allowed_.insert(allowed.begin(), allowed.end());
  }

  Result<PickleTree> Run() {
    if (data_.size() > limits_.max_input_bytes) {
      return Status::OutOfRange(fmt::format("pickle of {} bytes is over the {} byte limit",
                                            data_.size(), limits_.max_input_bytes));
    }
    WATTSON_ASSIGN_OR_RETURN(PyNode * root, ParseStream(0));
    if (pos_ != data_.size()) {
      return Status::InvalidArgument(fmt::format(
          "pickle: {} unexpected bytes after STOP at offset {}", data_.size() - pos_, pos_));
    }
    WATTSON_RETURN_IF_ERROR(CheckAcyclic(root));
    tree_.root_ = root;
    return std::move(tree_);
  }

 private:
  // Per-stream machine state.
  struct Frame {
    std::vector<PyNode*> stack;
    std::vector<size_t> marks;
    std::unordered_map<uint64_t, PyNode*> memo;
  };

  Status Error(size_t at, uint8_t op, std::string_view what) const {
    return Status::InvalidArgument(
        fmt::format("pickle: offset {} opcode {} (0x{:02x}): {}", at, OpcodeName(op), op, what));
  }

  Result<PyNode*> New(PyKind kind) {
    if (tree_.nodes_.size() >= limits_.max_nodes) {
      return Status::OutOfRange(fmt::format("pickle: more than {} values", limits_.max_nodes));
    }
    tree_.nodes_.push_back(std::make_unique<PyNode>());
    tree_.nodes_.back()->kind = kind;
    return tree_.nodes_.back().get();
  }

  bool Have(size_t n) const { return n <= data_.size() - pos_; }

  Result<uint64_t> ReadUint(size_t n, size_t at, uint8_t op) {
    if (!Have(n)) return Error(at, op, "truncated argument");
    uint64_t v = LoadLe(data_.data() + pos_, n);
    pos_ += n;
    return v;
  }

  Result<std::string> ReadBytes(uint64_t n, size_t at, uint8_t op) {
    if (n > limits_.max_string_bytes) {
      return Error(at, op, fmt::format("string of {} bytes is over the limit", n));
    }
    if (!Have(static_cast<size_t>(n))) return Error(at, op, "truncated string");
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  Result<std::string> ReadLine(size_t at, uint8_t op) {
    const size_t limit = std::min(data_.size(), pos_ + 1024);
    for (size_t i = pos_; i < limit; ++i) {
      if (data_[i] == '\n') {
        std::string s(reinterpret_cast<const char*>(data_.data() + pos_), i - pos_);
        pos_ = i + 1;
        return s;
      }
    }
    return Error(at, op, "unterminated line argument");
  }

  Status Push(Frame& f, PyNode* n, size_t at, uint8_t op) {
    if (f.stack.size() >= limits_.max_stack) return Error(at, op, "stack over the limit");
    f.stack.push_back(n);
    return Status::Ok();
  }

  Result<PyNode*> Pop(Frame& f, size_t at, uint8_t op) {
    size_t floor = f.marks.empty() ? 0 : f.marks.back();
    if (f.stack.size() <= floor) return Error(at, op, "stack underflow");
    PyNode* n = f.stack.back();
    f.stack.pop_back();
    return n;
  }

  Result<PyNode*> Top(Frame& f, size_t at, uint8_t op) {
    size_t floor = f.marks.empty() ? 0 : f.marks.back();
    if (f.stack.size() <= floor) return Error(at, op, "stack underflow");
    return f.stack.back();
  }

  // Pops everything above the last MARK and the mark itself.
  Result<std::vector<PyNode*>> PopMark(Frame& f, size_t at, uint8_t op) {
    if (f.marks.empty()) return Error(at, op, "no MARK");
    size_t m = f.marks.back();
    f.marks.pop_back();
    std::vector<PyNode*> items(f.stack.begin() + static_cast<std::ptrdiff_t>(m), f.stack.end());
    f.stack.resize(m);
    return items;
  }

  Status Memoize(Frame& f, uint64_t index, PyNode* n, size_t at, uint8_t op) {
    if (f.memo.size() >= limits_.max_memo && !f.memo.contains(index)) {
      return Error(at, op, "memo over the limit");
    }
    f.memo[index] = n;
    return Status::Ok();
  }

  Result<PyNode*> MakeGlobal(std::string module, std::string name, size_t at, uint8_t op) {
    std::string full = module + "." + name;
    if (!allowed_.contains(full)) {
      return Error(at, op, fmt::format("global '{}' is not in the allow-list", full));
    }
    WATTSON_ASSIGN_OR_RETURN(PyNode * g, New(PyKind::kGlobal));
    g->module = std::move(module);
    g->name = std::move(name);
    return g;
  }

  // Parses a dtype object (numpy.dtype(args) + BUILD state) into a DType.
  Result<DType> ParseDType(const PyNode* n, size_t at, uint8_t op, int nesting = 0) const {
    if (nesting > 2) return Error(at, op, "dtype nested too deep");
    if (n == nullptr || n->kind != PyKind::kObject || n->ClassName() != "numpy.dtype") {
      return Error(at, op, "array dtype is not a numpy.dtype");
    }
    if (n->args == nullptr || n->args->items.empty() || n->args->items[0]->kind != PyKind::kStr) {
      return Error(at, op, "numpy.dtype without a type string");
    }
    const std::string& code = n->args->items[0]->str;
    if (code.size() < 2 || code.size() > 8) return Error(at, op, "bad dtype code '" + code + "'");
    DType d;
    d.kind = code[0];
    size_t size = 0;
    for (size_t i = 1; i < code.size(); ++i) {
      if (code[i] < '0' || code[i] > '9') return Error(at, op, "bad dtype code '" + code + "'");
      size = size * 10 + static_cast<size_t>(code[i] - '0');
    }
    d.itemsize = size;
    const PyNode* st = n->state;
    if (st != nullptr && st->kind == PyKind::kTuple && st->items.size() >= 2 &&
        st->items[1]->kind == PyKind::kStr) {
      d.big_endian = st->items[1]->str == ">";
    }
    switch (d.kind) {
      case 'f':
        if (size != 4 && size != 8) return Error(at, op, "unsupported dtype '" + code + "'");
        break;
      case 'i':
      case 'u':
        if (size != 1 && size != 2 && size != 4 && size != 8) {
          return Error(at, op, "unsupported dtype '" + code + "'");
        }
        break;
      case 'b':
        if (size != 1) return Error(at, op, "unsupported dtype '" + code + "'");
        break;
      case 'O':
        if (size != 8) return Error(at, op, "unsupported dtype '" + code + "'");
        break;
      case 'V': {
        // state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if (st == nullptr || st->kind != PyKind::kTuple || st->items.size() < 6) {
          return Error(at, op, "structured dtype without state");
        }
        const PyNode* names = st->items[3];
        const PyNode* fields = st->items[4];
        if (names->kind != PyKind::kTuple || fields->kind != PyKind::kDict) {
          return Error(at, op, "structured dtype without names and fields");
        }
        WATTSON_ASSIGN_OR_RETURN(int64_t elsize, st->items[5]->AsInt());
        if (elsize <= 0 || static_cast<uint64_t>(elsize) != size) {
          return Error(at, op, "structured dtype size mismatch");
        }
        for (const PyNode* nm : names->items) {
          if (nm->kind != PyKind::kStr) return Error(at, op, "structured dtype field name");
          const PyNode* spec = nullptr;
          for (const auto& [k, v] : fields->entries) {
            if (k->kind == PyKind::kStr && k->str == nm->str) spec = v;
          }
          if (spec == nullptr || spec->kind != PyKind::kTuple || spec->items.size() < 2) {
            return Error(at, op, "structured dtype field '" + nm->str + "' has no spec");
          }
          WATTSON_ASSIGN_OR_RETURN(DType sub, ParseDType(spec->items[0], at, op, nesting + 1));
          WATTSON_ASSIGN_OR_RETURN(int64_t off, spec->items[1]->AsInt());
          if (sub.kind == 'V' || sub.kind == 'O' || off < 0 ||
              static_cast<uint64_t>(off) + sub.itemsize > size) {
            return Error(at, op, "structured dtype field '" + nm->str + "' out of range");
          }
          d.fields.push_back(
              {nm->str, sub.kind, sub.itemsize, sub.big_endian, static_cast<size_t>(off)});
        }
        break;
      }
      default:
        return Error(at, op, "unsupported dtype '" + code + "'");
    }
    return d;
  }

  // Validates a shape tuple and returns it with the element count, rejecting huge sizes.
  Result<std::vector<size_t>> ParseShape(const PyNode* n, size_t itemsize, size_t at,
                                         uint8_t op) const {
    if (n == nullptr || n->kind != PyKind::kTuple) return Error(at, op, "array shape not a tuple");
    if (n->items.size() > 32) return Error(at, op, "array has more than 32 dimensions");
    std::vector<size_t> shape;
    size_t count = 1;
    for (const PyNode* d : n->items) {
      if (d->kind != PyKind::kInt || d->integer < 0) return Error(at, op, "bad array dimension");
      const auto dim = static_cast<uint64_t>(d->integer);
      if (dim > limits_.max_array_elements ||
          (dim != 0 && count > limits_.max_array_elements / dim)) {
        return Error(at, op, "array element count over the limit");
      }
      count *= static_cast<size_t>(dim);
      shape.push_back(static_cast<size_t>(dim));
    }
    if (itemsize != 0 && count > limits_.max_array_bytes / itemsize) {
      return Error(at, op, "array byte size over the limit");
    }
    return shape;
  }

  // joblib: BUILD on a NumpyArrayWrapper reads the array that follows in the stream.
  Status ReadJoblibArray(PyNode* wrapper, int depth, size_t at, uint8_t op) {
    const PyNode* st = wrapper->state;
    if (st == nullptr || st->kind != PyKind::kDict) return Error(at, op, "wrapper without state");
    WATTSON_ASSIGN_OR_RETURN(DType dtype, ParseDType(wrapper->Get("dtype"), at, op));
    WATTSON_ASSIGN_OR_RETURN(std::vector<size_t> shape,
                             ParseShape(wrapper->Get("shape"), dtype.itemsize, at, op));
    bool fortran = false;
    if (const PyNode* order = wrapper->Get("order"); order != nullptr) {
      if (order->kind != PyKind::kStr || (order->str != "C" && order->str != "F")) {
        return Error(at, op, "wrapper order is not 'C' or 'F'");
      }
      fortran = order->str == "F";
    }
    auto array = std::make_unique<PyArray>();
    array->dtype = dtype;
    array->shape = std::move(shape);
    array->fortran_order = fortran;
    if (dtype.kind == 'O') {
      // joblib pickles object arrays as a nested protocol-2 stream (numpy's own reduce).
      WATTSON_ASSIGN_OR_RETURN(PyNode * inner, ParseStream(depth + 1));
      if (inner->kind != PyKind::kArray || inner->array->dtype.kind != 'O' ||
          inner->array->size() != array->size()) {
        return Error(at, op, "object array stream does not match the wrapper");
      }
      array->objects = inner->array->objects;
      array->fortran_order = false;  // numpy lists object elements in C order
    } else {
      if (wrapper->Get("numpy_array_alignment_bytes") != nullptr) {
        WATTSON_ASSIGN_OR_RETURN(uint64_t pad, ReadUint(1, pos_, op));
        if (pad > 64 || !Have(static_cast<size_t>(pad))) {
          return Error(at, op, "bad array alignment padding");
        }
        pos_ += static_cast<size_t>(pad);
      }
      const size_t bytes = array->size() * dtype.itemsize;
      if (!Have(bytes))
        return Error(at, op, fmt::format("array data of {} bytes truncated", bytes));
      array->data.assign(data_.begin() + static_cast<std::ptrdiff_t>(pos_),
                         data_.begin() + static_cast<std::ptrdiff_t>(pos_ + bytes));
      pos_ += bytes;
    }
    wrapper->kind = PyKind::kArray;
    wrapper->array = std::move(array);
    wrapper->cls = wrapper->args = wrapper->state = nullptr;
    return Status::Ok();
  }

  // numpy's own ndarray pickling: _reconstruct(...) then BUILD (1, shape, dtype, fortran, data).
  Status BuildNdarray(PyNode* obj, const PyNode* st, size_t at, uint8_t op) {
    if (st->kind != PyKind::kTuple || st->items.size() != 5) {
      return Error(at, op, "ndarray state is not a 5-tuple");
    }
    WATTSON_ASSIGN_OR_RETURN(DType dtype, ParseDType(st->items[2], at, op));
    WATTSON_ASSIGN_OR_RETURN(std::vector<size_t> shape,
                             ParseShape(st->items[1], dtype.itemsize, at, op));
    auto array = std::make_unique<PyArray>();
    array->dtype = dtype;
    array->shape = std::move(shape);
    array->fortran_order = st->items[3]->kind == PyKind::kBool && st->items[3]->boolean;
    const PyNode* payload = st->items[4];
    if (dtype.kind == 'O') {
      if (payload->kind != PyKind::kList || payload->items.size() != array->size()) {
        return Error(at, op, "object ndarray payload does not match its shape");
      }
      array->objects = payload->items;
      array->fortran_order = false;
    } else {
      if (payload->kind != PyKind::kBytes ||
          payload->str.size() != array->size() * dtype.itemsize) {
        return Error(at, op, "ndarray payload does not match its shape and dtype");
      }
      array->data.assign(payload->str.begin(), payload->str.end());
    }
    obj->kind = PyKind::kArray;
    obj->array = std::move(array);
    obj->cls = obj->args = obj->state = nullptr;
    return Status::Ok();
  }

  // REDUCE / NEWOBJ: records the call; a few pure data constructors are folded into values.
  Result<PyNode*> MakeCall(PyNode* callable, PyNode* args, size_t at, uint8_t op) {
    if (callable->kind != PyKind::kGlobal) return Error(at, op, "callable is not a global");
    if (args->kind != PyKind::kTuple) return Error(at, op, "arguments are not a tuple");
    const std::string cls = callable->ClassName();
    if (cls == "_codecs.encode") {
      // Protocol 2 writes bytes as _codecs.encode(latin-1 text, 'latin1').
      if (args->items.size() != 2 || args->items[0]->kind != PyKind::kStr ||
          args->items[1]->kind != PyKind::kStr || args->items[1]->str != "latin1") {
        return Error(at, op, "_codecs.encode with unexpected arguments");
      }
      WATTSON_ASSIGN_OR_RETURN(PyNode * out, New(PyKind::kBytes));
      const std::string& s = args->items[0]->str;
      for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c < 0x80) {
          out->str.push_back(static_cast<char>(c));
          i += 1;
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < s.size() &&
                   (static_cast<uint8_t>(s[i + 1]) & 0xc0) == 0x80) {
          out->str.push_back(
              static_cast<char>(((c & 0x03) << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3f)));
          i += 2;
        } else {
          return Error(at, op, "_codecs.encode text is not latin-1");
        }
      }
      return out;
    }
    if (IsNumpyScalar(cls)) {
      if (args->items.size() != 2 || args->items[1]->kind != PyKind::kBytes) {
        return Error(at, op, "numpy scalar with unexpected arguments");
      }
      WATTSON_ASSIGN_OR_RETURN(DType dtype, ParseDType(args->items[0], at, op));
      if (dtype.kind == 'O' || args->items[1]->str.size() != dtype.itemsize) {
        return Error(at, op, "numpy scalar bytes do not match its dtype");
      }
      WATTSON_ASSIGN_OR_RETURN(PyNode * out, New(PyKind::kArray));
      out->array = std::make_unique<PyArray>();
      out->array->dtype = dtype;
      out->array->data.assign(args->items[1]->str.begin(), args->items[1]->str.end());
      return out;
    }
    WATTSON_ASSIGN_OR_RETURN(PyNode * obj, New(PyKind::kObject));
    obj->cls = callable;
    obj->args = args;
    return obj;
  }

  Status Build(PyNode* target, PyNode* st, int depth, size_t at, uint8_t op) {
    if (target->kind != PyKind::kObject) {
      return Error(at, op, fmt::format("BUILD on a {}", KindName(target->kind)));
    }
    if (target->state != nullptr) return Error(at, op, "BUILD on an object that has state");
    const std::string cls = target->ClassName();
    if (IsReconstruct(cls)) return BuildNdarray(target, st, at, op);
    target->state = st;
    if (options_.joblib && cls == kNumpyArrayWrapper) {
      return ReadJoblibArray(target, depth, at, op);
    }
    return Status::Ok();
  }

  Result<PyNode*> ParseStream(int depth) {
    if (static_cast<size_t>(depth) >= limits_.max_depth) {
      return Status::OutOfRange("pickle: nested streams too deep");
    }
    Frame f;
    while (true) {
      const size_t at = pos_;
      if (!Have(1)) {
        return Status::InvalidArgument(
            fmt::format("pickle: stream ends at offset {} without STOP", at));
      }
      const uint8_t op = data_[pos_++];
      switch (op) {
        case 0x80: {  // PROTO
          WATTSON_ASSIGN_OR_RETURN(uint64_t v, ReadUint(1, at, op));
          if (v < 2 || v > 5) return Error(at, op, fmt::format("unsupported protocol {}", v));
          break;
        }
        case 0x95: {  // FRAME: a length hint; the content is read sequentially
          WATTSON_ASSIGN_OR_RETURN(uint64_t n, ReadUint(8, at, op));
          if (n > data_.size() - pos_) return Error(at, op, "frame longer than the input");
          break;
        }
        case '.': {  // STOP
          if (!f.marks.empty()) return Error(at, op, "MARK left open");
          if (f.stack.size() != 1) {
            return Error(at, op, fmt::format("{} values on the stack at STOP", f.stack.size()));
          }
          return f.stack.back();
        }
        case 0x94: {  // MEMOIZE
          WATTSON_ASSIGN_OR_RETURN(PyNode * t, Top(f, at, op));
          WATTSON_RETURN_IF_ERROR(Memoize(f, f.memo.size(), t, at, op));
          break;
        }
        case 'q':
        case 'r': {  // BINPUT, LONG_BINPUT
          WATTSON_ASSIGN_OR_RETURN(uint64_t idx, ReadUint(op == 'q' ? 1 : 4, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * t, Top(f, at, op));
          WATTSON_RETURN_IF_ERROR(Memoize(f, idx, t, at, op));
          break;
        }
        case 'h':
        case 'j': {  // BINGET, LONG_BINGET
          WATTSON_ASSIGN_OR_RETURN(uint64_t idx, ReadUint(op == 'h' ? 1 : 4, at, op));
          auto it = f.memo.find(idx);
          if (it == f.memo.end()) return Error(at, op, fmt::format("memo {} is not set", idx));
          WATTSON_RETURN_IF_ERROR(Push(f, it->second, at, op));
          break;
        }
        case 'c': {  // GLOBAL
          WATTSON_ASSIGN_OR_RETURN(std::string module, ReadLine(at, op));
          WATTSON_ASSIGN_OR_RETURN(std::string name, ReadLine(at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * g,
                                   MakeGlobal(std::move(module), std::move(name), at, op));
          WATTSON_RETURN_IF_ERROR(Push(f, g, at, op));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          WATTSON_ASSIGN_OR_RETURN(PyNode * name, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * module, Pop(f, at, op));
          if (name->kind != PyKind::kStr || module->kind != PyKind::kStr) {
            return Error(at, op, "module and name must be str");
          }
          WATTSON_ASSIGN_OR_RETURN(PyNode * g, MakeGlobal(module->str, name->str, at, op));
          WATTSON_RETURN_IF_ERROR(Push(f, g, at, op));
          break;
        }
        case 'R':     // REDUCE
        case 0x81: {  // NEWOBJ
          WATTSON_ASSIGN_OR_RETURN(PyNode * args, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * callable, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * obj, MakeCall(callable, args, at, op));
          WATTSON_RETURN_IF_ERROR(Push(f, obj, at, op));
          break;
        }
        case 0x92: {  // NEWOBJ_EX: only with empty keyword arguments
          WATTSON_ASSIGN_OR_RETURN(PyNode * kwargs, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * args, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * callable, Pop(f, at, op));
          if (kwargs->kind != PyKind::kDict || !kwargs->entries.empty()) {
            return Error(at, op, "keyword arguments are not supported");
          }
          WATTSON_ASSIGN_OR_RETURN(PyNode * obj, MakeCall(callable, args, at, op));
          WATTSON_RETURN_IF_ERROR(Push(f, obj, at, op));
          break;
        }
        case 'b': {  // BUILD
          WATTSON_ASSIGN_OR_RETURN(PyNode * st, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * target, Top(f, at, op));
          WATTSON_RETURN_IF_ERROR(Build(target, st, depth, at, op));
          break;
        }
        case '}':
        case ']':
        case ')': {
          WATTSON_ASSIGN_OR_RETURN(PyNode * n, New(op == '}'   ? PyKind::kDict
                                                   : op == ']' ? PyKind::kList
                                                               : PyKind::kTuple));
          WATTSON_RETURN_IF_ERROR(Push(f, n, at, op));
          break;
        }
        case '(': {  // MARK
          if (f.marks.size() >= limits_.max_marks) return Error(at, op, "too many open MARKs");
          f.marks.push_back(f.stack.size());
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const size_t n = static_cast<size_t>(op - 0x84);
          WATTSON_ASSIGN_OR_RETURN(PyNode * t, New(PyKind::kTuple));
          t->items.resize(n);
          for (size_t i = n; i-- > 0;) {
            WATTSON_ASSIGN_OR_RETURN(t->items[i], Pop(f, at, op));
          }
          WATTSON_RETURN_IF_ERROR(Push(f, t, at, op));
          break;
        }
        case 't':
        case 'l': {  // TUPLE, LIST
          WATTSON_ASSIGN_OR_RETURN(std::vector<PyNode*> items, PopMark(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * t, New(op == 't' ? PyKind::kTuple : PyKind::kList));
          t->items.assign(items.begin(), items.end());
          WATTSON_RETURN_IF_ERROR(Push(f, t, at, op));
          break;
        }
        case 'd':
        case 'u': {  // DICT, SETITEMS
          WATTSON_ASSIGN_OR_RETURN(std::vector<PyNode*> items, PopMark(f, at, op));
          if (items.size() % 2 != 0) return Error(at, op, "odd number of dict items");
          PyNode* dict = nullptr;
          if (op == 'd') {
            WATTSON_ASSIGN_OR_RETURN(dict, New(PyKind::kDict));
          } else {
            WATTSON_ASSIGN_OR_RETURN(dict, Top(f, at, op));
          }
          if (dict->kind != PyKind::kDict) return Error(at, op, "target is not a dict");
          for (size_t i = 0; i < items.size(); i += 2) {
            WATTSON_RETURN_IF_ERROR(SetItem(dict, items[i], items[i + 1], at, op));
          }
          if (op == 'd') WATTSON_RETURN_IF_ERROR(Push(f, dict, at, op));
          break;
        }
        case 's': {  // SETITEM
          WATTSON_ASSIGN_OR_RETURN(PyNode * value, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * key, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * dict, Top(f, at, op));
          if (dict->kind != PyKind::kDict) return Error(at, op, "target is not a dict");
          WATTSON_RETURN_IF_ERROR(SetItem(dict, key, value, at, op));
          break;
        }
        case 'a': {  // APPEND
          WATTSON_ASSIGN_OR_RETURN(PyNode * value, Pop(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * list, Top(f, at, op));
          if (list->kind != PyKind::kList) return Error(at, op, "target is not a list");
          list->items.push_back(value);
          break;
        }
        case 'e': {  // APPENDS
          WATTSON_ASSIGN_OR_RETURN(std::vector<PyNode*> items, PopMark(f, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * list, Top(f, at, op));
          if (list->kind != PyKind::kList) return Error(at, op, "target is not a list");
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case 'J':
        case 'K':
        case 'M': {  // BININT, BININT1, BININT2
          const size_t n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
          WATTSON_ASSIGN_OR_RETURN(uint64_t v, ReadUint(n, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * i, New(PyKind::kInt));
          i->integer = op == 'J' ? int64_t{static_cast<int32_t>(static_cast<uint32_t>(v))}
                                 : static_cast<int64_t>(v);
          WATTSON_RETURN_IF_ERROR(Push(f, i, at, op));
          break;
        }
        case 0x8a:
        case 0x8b: {  // LONG1, LONG4
          WATTSON_ASSIGN_OR_RETURN(uint64_t n, ReadUint(op == 0x8a ? 1 : 4, at, op));
          WATTSON_ASSIGN_OR_RETURN(std::string bytes, ReadBytes(n, at, op));
          PyNode* i = nullptr;
          if (bytes.size() <= 8) {
            WATTSON_ASSIGN_OR_RETURN(i, New(PyKind::kInt));
            if (!bytes.empty()) {
              uint64_t raw = LoadLe(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
              const size_t shift = 64 - 8 * bytes.size();
              i->integer = static_cast<int64_t>(raw << shift) >> shift;
            }
          } else {
            WATTSON_ASSIGN_OR_RETURN(i, New(PyKind::kBigInt));
            i->str = std::move(bytes);
          }
          WATTSON_RETURN_IF_ERROR(Push(f, i, at, op));
          break;
        }
        case 'G': {  // BINFLOAT (big-endian)
          if (!Have(8)) return Error(at, op, "truncated argument");
          uint64_t raw = LoadElem(data_.data() + pos_, 8, true);
          pos_ += 8;
          WATTSON_ASSIGN_OR_RETURN(PyNode * x, New(PyKind::kFloat));
          x->number = std::bit_cast<double>(raw);
          WATTSON_RETURN_IF_ERROR(Push(f, x, at, op));
          break;
        }
        case 0x8c:
        case 'X':
        case 0x8d:
        case 'C':
        case 'B':
        case 0x8e:
        case 'U':
        case 'T': {  // strings and bytes
          const bool text = op == 0x8c || op == 'X' || op == 0x8d;
          const size_t n = (op == 0x8c || op == 'C' || op == 'U') ? 1
                           : (op == 0x8d || op == 0x8e)           ? 8
                                                                  : 4;
          WATTSON_ASSIGN_OR_RETURN(uint64_t len, ReadUint(n, at, op));
          WATTSON_ASSIGN_OR_RETURN(std::string s, ReadBytes(len, at, op));
          WATTSON_ASSIGN_OR_RETURN(PyNode * x, New(text ? PyKind::kStr : PyKind::kBytes));
          x->str = std::move(s);
          WATTSON_RETURN_IF_ERROR(Push(f, x, at, op));
          break;
        }
        case 'N':
        case 0x88:
        case 0x89: {
          WATTSON_ASSIGN_OR_RETURN(PyNode * x, New(op == 'N' ? PyKind::kNone : PyKind::kBool));
          x->boolean = op == 0x88;
          WATTSON_RETURN_IF_ERROR(Push(f, x, at, op));
          break;
        }
        case '0': {  // POP
          WATTSON_ASSIGN_OR_RETURN(PyNode * ignored, Pop(f, at, op));
          (void)ignored;
          break;
        }
        case '1': {  // POP_MARK
          WATTSON_ASSIGN_OR_RETURN(std::vector<PyNode*> ignored, PopMark(f, at, op));
          break;
        }
        case '2': {  // DUP
          WATTSON_ASSIGN_OR_RETURN(PyNode * t, Top(f, at, op));
          WATTSON_RETURN_IF_ERROR(Push(f, t, at, op));
          break;
        }
        default:
          return Error(at, op, "opcode not supported");
      }
    }
  }

  Status SetItem(PyNode* dict, PyNode* key, PyNode* value, size_t at, uint8_t op) {
    // Keys are compared by value for str/int (the only key kinds a model state uses).
    for (auto& [k, v] : dict->entries) {
      if (k->kind == key->kind && ((k->kind == PyKind::kStr && k->str == key->str) ||
                                   (k->kind == PyKind::kInt && k->integer == key->integer))) {
        v = value;
        return Status::Ok();
      }
    }
    if (key->kind != PyKind::kStr && key->kind != PyKind::kInt && key->kind != PyKind::kTuple) {
      return Error(at, op, fmt::format("unsupported dict key kind {}", KindName(key->kind)));
    }
    dict->entries.emplace_back(key, value);
    return Status::Ok();
  }

  // Rejects cycles and over-deep nesting with an iterative depth-first walk.
  Status CheckAcyclic(const PyNode* root) const {
    enum : uint8_t { kWhite = 0, kGrey = 1, kBlack = 2 };
    std::unordered_map<const PyNode*, uint8_t> color;
    struct Item {
      const PyNode* node;
      std::vector<const PyNode*> children;
      size_t next = 0;
    };
    auto children_of = [](const PyNode* n) {
      std::vector<const PyNode*> c = n->items;
      for (const auto& [k, v] : n->entries) {
        c.push_back(k);
        c.push_back(v);
      }
      for (const PyNode* p : {n->cls, n->args, n->state}) {
        if (p != nullptr) c.push_back(p);
      }
      if (n->array) c.insert(c.end(), n->array->objects.begin(), n->array->objects.end());
      return c;
    };
    std::vector<Item> path;
    path.push_back({root, children_of(root)});
    color[root] = kGrey;
    while (!path.empty()) {
      Item& top = path.back();
      if (top.next == top.children.size()) {
        color[top.node] = kBlack;
        path.pop_back();
        continue;
      }
      const PyNode* c = top.children[top.next++];
      uint8_t& col = color[c];
      if (col == kGrey) return Status::InvalidArgument("pickle: the object graph has a cycle");
      if (col == kBlack) continue;
      if (path.size() >= limits_.max_depth) {
        return Status::OutOfRange(
            fmt::format("pickle: values nested deeper than {}", limits_.max_depth));
      }
      col = kGrey;
      path.push_back({c, children_of(c)});
    }
    return Status::Ok();
  }

  std::span<const uint8_t> data_;
  const PickleOptions& options_;
  const PickleLimits& limits_;
  std::unordered_set<std::string> allowed_;
  size_t pos_ = 0;
  PickleTree tree_;
};

Result<PickleTree> ParsePickle(std::span<const uint8_t> data, const PickleOptions& options) {
  PickleParser parser(data, options);
  return parser.Run();
}

namespace {
void Describe(const PyNode& n, std::string& out, size_t max_chars, int depth) {
  if (out.size() >= max_chars) return;
  if (depth > 32) {
    out += "...";
    return;
  }
  switch (n.kind) {
    case PyKind::kNone:
      out += "None";
      break;
    case PyKind::kBool:
      out += n.boolean ? "True" : "False";
      break;
    case PyKind::kInt:
      out += std::to_string(n.integer);
      break;
    case PyKind::kBigInt:
      out += fmt::format("<int of {} bytes>", n.str.size());
      break;
    case PyKind::kFloat:
      out += fmt::format("{}", n.number);
      break;
    case PyKind::kStr:
      out += "'" + n.str.substr(0, 80) + "'";
      break;
    case PyKind::kBytes:
      out += fmt::format("<{} bytes>", n.str.size());
      break;
    case PyKind::kTuple:
    case PyKind::kList: {
      out += n.kind == PyKind::kTuple ? "(" : "[";
      for (size_t i = 0; i < n.items.size() && out.size() < max_chars; ++i) {
        if (i) out += ", ";
        Describe(*n.items[i], out, max_chars, depth + 1);
      }
      out += n.kind == PyKind::kTuple ? ")" : "]";
      break;
    }
    case PyKind::kDict: {
      out += "{";
      for (size_t i = 0; i < n.entries.size() && out.size() < max_chars; ++i) {
        if (i) out += ", ";
        Describe(*n.entries[i].first, out, max_chars, depth + 1);
        out += ": ";
        Describe(*n.entries[i].second, out, max_chars, depth + 1);
      }
      out += "}";
      break;
    }
    case PyKind::kGlobal:
      out += n.ClassName();
      break;
    case PyKind::kObject:
      out += n.ClassName();
      if (n.args != nullptr) Describe(*n.args, out, max_chars, depth + 1);
      if (n.state != nullptr) {
        out += "<";
        Describe(*n.state, out, max_chars, depth + 1);
        out += ">";
      }
      break;
    case PyKind::kArray: {
      std::string shape;
      for (size_t i = 0; i < n.array->shape.size(); ++i) {
        shape += (i ? "," : "") + std::to_string(n.array->shape[i]);
      }
      out += fmt::format("array({})[{}]", n.array->dtype.ToString(), shape);
      break;
    }
  }
  if (out.size() > max_chars) out.resize(max_chars);
}
}  // namespace

std::string DescribeNode(const PyNode& node, size_t max_chars) {
  std::string out;
  Describe(node, out, max_chars, 0);
  return out;
}

}  // namespace wattson::archive
