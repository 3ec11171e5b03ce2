#include "models/archive/pickle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wattson::archive {
namespace {

using ::testing::HasSubstr;

std::string SamplesDir() {
  const char* env = std::getenv("WATTSON_TESTDATA_DIR");
  std::string root = env != nullptr ? env : WATTSON_TESTDATA_DIR;
  return root + "/kepler-model-db/ec2-0.7.11_samples/rapl-sysfs/AbsPower/";
}

// Reads one member of a sample archive with libzip (the archive loader is tested on its own).
std::vector<uint8_t> Member(const std::string& archive, const std::string& member) {
  int err = 0;
  zip_t* z = zip_open((SamplesDir() + archive).c_str(), ZIP_RDONLY, &err);
  EXPECT_NE(z, nullptr) << archive;
  if (z == nullptr) return {};
  zip_stat_t st;
  zip_stat_init(&st);
  std::vector<uint8_t> out;
  if (zip_stat(z, member.c_str(), 0, &st) == 0) {
    out.resize(st.size);
    zip_file_t* f = zip_fopen(z, member.c_str(), 0);
    EXPECT_NE(f, nullptr);
    if (f != nullptr) {
      EXPECT_EQ(zip_fread(f, out.data(), out.size()), static_cast<zip_int64_t>(out.size()));
      zip_fclose(f);
    }
  } else {
    ADD_FAILURE() << "no member " << member << " in " << archive;
  }
  zip_close(z);
  return out;
}

std::vector<double> Doubles(const PyNode* n) {
  EXPECT_NE(n, nullptr);
  if (n == nullptr || n->kind != PyKind::kArray) return {};
  auto r = n->array->ToDoubles();
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::vector<double>{};
}

std::vector<uint8_t> Bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

const std::vector<std::pair<std::string, std::vector<std::string>>>& AllMembers() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kAll = [] {
    std::vector<std::pair<std::string, std::vector<std::string>>> all;
    const std::vector<std::string> comps = {"scaler.pkl", "package.pkl", "core.pkl", "uncore.pkl",
                                            "dram.pkl"};
    for (const char* a :
         {"BPFIRQ/GradientBoostingRegressorTrainer_0.zip",
          "BPFIRQ/KNeighborsRegressorTrainer_0.zip", "BPFIRQ/LinearRegressionTrainer_0.zip",
          "BPFIRQ/SGDRegressorTrainer_0.zip", "BPFOnly/ExponentialRegressionTrainer_0.zip",
          "BPFOnly/LogarithmicRegressionTrainer_0.zip", "BPFOnly/SVRRegressorTrainer_0.zip",
          "CounterOnly/LogarithmicRegressionTrainer_0.zip",
          "CounterOnly/SVRRegressorTrainer_0.zip"}) {
      all.emplace_back(a, comps);
    }
    std::vector<std::string> poly = comps;
    poly.push_back("poly_scaler.pkl");
    all.emplace_back("BPFIRQ/PolynomialRegressionTrainer_0.zip", poly);
    all.emplace_back("BPFIRQ/XgboostFitTrainer_0.zip", std::vector<std::string>{"scaler.pkl"});
    return all;
  }();
  return kAll;
}

TEST(PickleTest, EverySampleMemberParses) {
  int parsed = 0;
  for (const auto& [archive, members] : AllMembers()) {
    for (const std::string& m : members) {
      std::vector<uint8_t> data = Member(archive, m);
      auto tree = ParsePickle(data);
      ASSERT_TRUE(tree.ok()) << archive << ":" << m << ": " << tree.status().message();
      EXPECT_EQ(tree->root().kind, PyKind::kObject) << archive << ":" << m;
      ++parsed;
    }
  }
  EXPECT_EQ(parsed, 52);  // 9 archives x 5 + Polynomial 6 + Xgboost scaler
}

TEST(PickleTest, ScalerAndSgdMatchTheWeightJson) {
  const std::string archive = "BPFIRQ/SGDRegressorTrainer_0.zip";
  std::ifstream in(SamplesDir() + "BPFIRQ/SGDRegressorTrainer_0.json");
  nlohmann::json weights = nlohmann::json::parse(in);
  const auto& pkg = weights["package"]["All_Weights"];

  std::vector<uint8_t> scaler_bytes = Member(archive, "scaler.pkl");
  auto scaler = ParsePickle(scaler_bytes);
  ASSERT_TRUE(scaler.ok()) << scaler.status().message();
  EXPECT_EQ(scaler->root().ClassName(), "sklearn.preprocessing._data.MaxAbsScaler");
  std::vector<double> scale = Doubles(scaler->root().Get("scale_"));
  std::vector<double> max_abs = Doubles(scaler->root().Get("max_abs_"));
  ASSERT_EQ(scale.size(), 5u);
  ASSERT_EQ(max_abs.size(), 5u);
  EXPECT_EQ(max_abs[0], 0.0);  // bpf_block_irq never moved; scale_ replaces 0 by 1
  EXPECT_EQ(scale[0], 1.0);
  const std::vector<std::string> features = {"bpf_block_irq", "bpf_cpu_time_ms", "bpf_net_rx_irq",
                                             "bpf_net_tx_irq", "bpf_page_cache_hit"};
  for (size_t i = 0; i < features.size(); ++i) {
    EXPECT_DOUBLE_EQ(scale[i], pkg["Numerical_Variables"][features[i]]["scale"].get<double>());
  }
  auto n = scaler->root().Get("n_features_in_");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->integer, 5);

  std::vector<uint8_t> sgd_bytes = Member(archive, "package.pkl");
  auto sgd = ParsePickle(sgd_bytes);
  ASSERT_TRUE(sgd.ok()) << sgd.status().message();
  EXPECT_EQ(sgd->root().ClassName(), "sklearn.linear_model._stochastic_gradient.SGDRegressor");
  std::vector<double> coef = Doubles(sgd->root().Get("coef_"));
  std::vector<double> intercept = Doubles(sgd->root().Get("intercept_"));
  ASSERT_EQ(coef.size(), 5u);
  ASSERT_EQ(intercept.size(), 1u);
  EXPECT_DOUBLE_EQ(intercept[0], pkg["Bias_Weight"].get<double>());
  for (size_t i = 0; i < features.size(); ++i) {
    EXPECT_DOUBLE_EQ(coef[i], pkg["Numerical_Variables"][features[i]]["weight"].get<double>());
  }
}

TEST(PickleTest, LinearRegressionInterceptIsANumpyScalar) {
  std::vector<uint8_t> bytes = Member("BPFIRQ/LinearRegressionTrainer_0.zip", "package.pkl");
  auto tree = ParsePickle(bytes);
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  const PyNode* intercept = tree->root().Get("intercept_");
  ASSERT_NE(intercept, nullptr);
  ASSERT_EQ(intercept->kind, PyKind::kArray);
  EXPECT_TRUE(intercept->array->shape.empty());
  auto v = intercept->AsDouble();
  ASSERT_TRUE(v.ok());
  EXPECT_GT(*v, 100.0);  // package idle power of an m5.metal, in watts
  EXPECT_EQ(tree->root().Get("positive")->kind, PyKind::kBool);
}

TEST(PickleTest, GradientBoostingTreesAreObjectArraysOfStructuredNodes) {
  std::vector<uint8_t> bytes =
      Member("BPFIRQ/GradientBoostingRegressorTrainer_0.zip", "package.pkl");
  auto tree = ParsePickle(bytes);
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  const PyNode& gbr = tree->root();
  EXPECT_EQ(gbr.ClassName(), "sklearn.ensemble._gb.GradientBoostingRegressor");
  EXPECT_DOUBLE_EQ(*gbr.Get("learning_rate")->AsDouble(), 0.1);
  const PyNode* init = gbr.Get("init_");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->ClassName(), "sklearn.dummy.DummyRegressor");
  EXPECT_EQ(Doubles(init->Get("constant_")).size(), 1u);
  const PyNode* est = gbr.Get("estimators_");
  ASSERT_NE(est, nullptr);
  ASSERT_EQ(est->kind, PyKind::kArray);
  EXPECT_EQ(est->array->dtype.kind, 'O');
  EXPECT_EQ(est->array->shape, (std::vector<size_t>{100, 1}));
  ASSERT_EQ(est->array->objects.size(), 100u);
  const PyNode* dt = est->array->objects[0];
  EXPECT_EQ(dt->ClassName(), "sklearn.tree._classes.DecisionTreeRegressor");
  const PyNode* t = dt->Get("tree_");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ClassName(), "sklearn.tree._tree.Tree");
  const PyNode* nodes = t->Get("nodes");
  ASSERT_NE(nodes, nullptr);
  ASSERT_EQ(nodes->kind, PyKind::kArray);
  EXPECT_EQ(nodes->array->dtype.kind, 'V');
  EXPECT_TRUE(nodes->array->HasField("missing_go_to_left"));
  const int64_t count = *t->Get("node_count")->AsInt();
  EXPECT_EQ(nodes->array->size(), static_cast<size_t>(count));
  auto left = nodes->array->FieldToInts("left_child");
  auto thr = nodes->array->FieldToDoubles("threshold");
  ASSERT_TRUE(left.ok() && thr.ok());
  EXPECT_GE((*left)[0], 1);  // a depth-3 tree: the root is split
  EXPECT_EQ(left->back(), -1);
  const PyNode* values = t->Get("values");
  ASSERT_NE(values, nullptr);
  EXPECT_EQ(values->array->size(), static_cast<size_t>(count));
}

TEST(PickleTest, KnnSvrAndCurveFitState) {
  {
    std::vector<uint8_t> b = Member("BPFIRQ/KNeighborsRegressorTrainer_0.zip", "package.pkl");
    auto tree = ParsePickle(b);
    ASSERT_TRUE(tree.ok()) << tree.status().message();
    const PyNode* x = tree->root().Get("_fit_X");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->array->shape, (std::vector<size_t>{154, 5}));
    EXPECT_EQ(Doubles(tree->root().Get("_y")).size(), 154u);
    EXPECT_EQ(*tree->root().Get("n_neighbors")->AsInt(), 6);
    EXPECT_EQ(*tree->root().Get("weights")->AsStr(), "uniform");
  }
  {
    std::vector<uint8_t> b = Member("BPFOnly/SVRRegressorTrainer_0.zip", "package.pkl");
    auto tree = ParsePickle(b);
    ASSERT_TRUE(tree.ok()) << tree.status().message();
    const PyNode* support = tree->root().Get("support_");
    ASSERT_NE(support, nullptr);
    EXPECT_EQ(support->array->dtype.ToString(), "<i4");
    auto s = support->array->ToInts();
    ASSERT_TRUE(s.ok());
    ASSERT_GE(s->size(), 2u);
    EXPECT_EQ((*s)[1], 1);
    const PyNode* sv = tree->root().Get("support_vectors_");
    ASSERT_NE(sv, nullptr);
    EXPECT_EQ(sv->array->shape[0], s->size());
    EXPECT_EQ(Doubles(tree->root().Get("_dual_coef_")).size(), s->size());
    EXPECT_TRUE(tree->root().Get("_gamma")->AsDouble().ok());
  }
  {
    std::vector<uint8_t> b = Member("BPFOnly/LogarithmicRegressionTrainer_0.zip", "package.pkl");
    auto tree = ParsePickle(b);
    ASSERT_TRUE(tree.ok()) << tree.status().message();
    EXPECT_EQ(tree->root().ClassName(), "trainer.curvefit.CurveFitModel");
    EXPECT_EQ(tree->root().Get("fit_func")->name, "log_func");
    EXPECT_EQ(Doubles(tree->root().Get("popt")).size(), 3u);
    EXPECT_EQ(*tree->root().Get("feature_index")->AsInt(), 0);
  }
}

// --- hand-made streams -------------------------------------------------------------------------

TEST(PickleTest, SmallValues) {
  // PROTO 4, MARK, BININT1 7, BININT -2, BINFLOAT 1.5, NONE, TRUE, SHORT_BINUNICODE 'hi',
  // SHORT_BINBYTES b'\x01', LONG1 2 bytes 0x0100, TUPLE, STOP
  auto data = Bytes({0x80, 4,   '(', 'K', 7,    'J', 0xfe, 0xff, 0xff, 0xff, 'G', 0x3f,
                     0xf8, 0,   0,   0,   0,    0,   0,    'N',  0x88, 0x8c, 2,   'h',
                     'i',  'C', 1,   1,   0x8a, 2,   0,    1,    't',  '.'});
  auto tree = ParsePickle(data);
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  EXPECT_EQ(DescribeNode(tree->root()), "(7, -2, 1.5, None, True, 'hi', <1 bytes>, 256)");
}

TEST(PickleTest, DictListMemoAndSetItems) {
  // {'a': [1, 1]} built with EMPTY_DICT, MEMOIZE, SHORT_BINUNICODE, EMPTY_LIST, MARK, K1, BINGET
  auto data =
      Bytes({0x80, 4, '}', 0x94, 0x8c, 1, 'a', ']', '(', 'K', 1, 0x94, 'h', 1, 'e', 's', '.'});
  auto tree = ParsePickle(data);
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  EXPECT_EQ(DescribeNode(tree->root()), "{'a': [1, 1]}");
}

TEST(PickleTest, RejectsGlobalsOutsideTheAllowList) {
  std::string s =
      "\x80\x02"
      "cos\nsystem\n"
      "(\x8c\x02id"
      "tR.";
  std::vector<uint8_t> data(s.begin(), s.end());
  auto tree = ParsePickle(data);
  ASSERT_FALSE(tree.ok());
  EXPECT_THAT(tree.status().message(), HasSubstr("offset 2 opcode GLOBAL"));
  EXPECT_THAT(tree.status().message(), HasSubstr("'os.system' is not in the allow-list"));

  std::string s2 =
      "\x80\x04\x8c\x08"
      "builtins\x8c\x04"
      "eval\x93.";
  std::vector<uint8_t> d2(s2.begin(), s2.end());
  auto t2 = ParsePickle(d2);
  ASSERT_FALSE(t2.ok());
  EXPECT_THAT(t2.status().message(), HasSubstr("STACK_GLOBAL"));
}

TEST(PickleTest, MalformedStreamsNameOffsetAndOpcode) {
  struct Case {
    std::vector<uint8_t> data;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{}, "without STOP"},
      {Bytes({0x80, 9, 'N', '.'}), "unsupported protocol 9"},
      {Bytes({0x80, 4, '.'}), "0 values on the stack"},
      {Bytes({'N', 'N', '.'}), "2 values on the stack"},
      {Bytes({'h', 3, '.'}), "offset 0 opcode BINGET (0x68): memo 3 is not set"},
      {Bytes({0x85, '.'}), "offset 0 opcode TUPLE1 (0x85): stack underflow"},
      {Bytes({'t', '.'}), "no MARK"},
      {Bytes({'(', 'N', '.'}), "MARK left open"},
      {Bytes({'N', 'N', 'R', '.'}), "callable is not a global"},
      {Bytes({'N', 'N', 'b', '.'}), "BUILD on a None"},
      {Bytes({'K'}), "offset 0 opcode BININT1 (0x4b): truncated argument"},
      {Bytes({'X', 0xff, 0xff, 0xff, 0x7f}), "string of 2147483647 bytes is over the limit"},
      {Bytes({0x8c, 5, 'a'}), "truncated string"},
      {Bytes({'N', '.', 'N'}), "1 unexpected bytes after STOP at offset 2"},
      {Bytes({'I', '1', '\n', '.'}), "offset 0 opcode unknown (0x49): opcode not supported"},
      {Bytes({0x95, 100, 0, 0, 0, 0, 0, 0, 0, 'N', '.'}), "frame longer than the input"},
      {Bytes({'N', 'N', 0x93, '.'}), "module and name must be str"},
      {Bytes({'N', '(', 'K', 1, 'u', '.'}), "odd number of dict items"},
      {Bytes({']', 'N', 's', '.'}), "stack underflow"},
      {Bytes({'}', '(', 'N', 'N', 'u', '.'}), "unsupported dict key kind None"},
  };
  for (const Case& c : cases) {
    auto tree = ParsePickle(c.data);
    ASSERT_FALSE(tree.ok()) << c.want;
    EXPECT_THAT(tree.status().message(), HasSubstr(c.want));
  }
}

TEST(PickleTest, RejectsCyclesAndDeepNesting) {
  // d = {}; d['a'] = d
  auto cyc = Bytes({'}', 0x94, 0x8c, 1, 'a', 'h', 0, 's', '.'});
  auto t = ParsePickle(cyc);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("cycle"));

  std::vector<uint8_t> deep;
  for (int i = 0; i < 200; ++i) deep.push_back(']');
  for (int i = 0; i < 199; ++i) deep.push_back('a');
  deep.push_back('.');
  auto d = ParsePickle(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("nested deeper than 128"));

  std::vector<uint8_t> marks(300, '(');
  auto m = ParsePickle(marks);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("too many open MARKs"));
}

TEST(PickleTest, LimitsAreEnforced) {
  PickleOptions small;
  small.limits.max_nodes = 3;
  auto four = Bytes({'(', 'N', 'N', 'N', 't', '.'});
  auto t = ParsePickle(four, small);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("more than 3 values"));

  PickleOptions tiny;
  tiny.limits.max_input_bytes = 4;
  auto big = Bytes({'N', '0', 'N', '0', 'N', '.'});
  EXPECT_FALSE(ParsePickle(big, tiny).ok());
}

// A joblib array whose declared shape is huge must be refused before any allocation, and a
// truncated payload must be reported.
TEST(PickleTest, JoblibArraySizesAreCheckedBeforeAllocation) {
  std::vector<uint8_t> member = Member("BPFIRQ/LinearRegressionTrainer_0.zip", "scaler.pkl");
  ASSERT_FALSE(member.empty());
  // The first array is shape (5,): the bytes 'K' 5 0x85 (BININT1 5, TUPLE1). Make it 2^31-1.
  std::vector<uint8_t> huge = member;
  bool patched = false;
  for (size_t i = 0; i + 2 < huge.size(); ++i) {
    if (huge[i] == 'K' && huge[i + 1] == 5 && huge[i + 2] == 0x85) {
      std::vector<uint8_t> repl = {'J', 0xff, 0xff, 0xff, 0x7f, 0x85};
      huge.erase(huge.begin() + static_cast<std::ptrdiff_t>(i),
                 huge.begin() + static_cast<std::ptrdiff_t>(i + 3));
      huge.insert(huge.begin() + static_cast<std::ptrdiff_t>(i), repl.begin(), repl.end());
      patched = true;
      break;
    }
  }
  ASSERT_TRUE(patched);
  auto t = ParsePickle(huge);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("over the limit"));

  // Every proper prefix of a real member fails cleanly.
  for (size_t n = 0; n < member.size(); ++n) {
    auto p = ParsePickle(std::span<const uint8_t>(member.data(), n));
    EXPECT_FALSE(p.ok()) << n;
  }
}

// Every single-byte corruption of real members either parses or fails with a Status (run under
// ASan/UBSan in the debug preset).
TEST(PickleTest, ByteFlipsNeverCrash) {
  for (const auto& [archive, member] : std::vector<std::pair<std::string, std::string>>{
           {"BPFIRQ/LinearRegressionTrainer_0.zip", "scaler.pkl"},
           {"BPFOnly/SVRRegressorTrainer_0.zip", "package.pkl"},
           {"BPFOnly/ExponentialRegressionTrainer_0.zip", "package.pkl"}}) {
    std::vector<uint8_t> data = Member(archive, member);
    for (size_t i = 0; i < data.size(); ++i) {
      for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
        std::vector<uint8_t> copy = data;
        copy[i] ^= x;
        auto t = ParsePickle(copy);
        if (t.ok()) {
          EXPECT_NE(t->node_count(), 0u);
        }
      }
    }
  }
}

TEST(PickleTest, CustomAllowList) {
  std::vector<uint8_t> data = Member("BPFIRQ/LinearRegressionTrainer_0.zip", "scaler.pkl");
  PickleOptions opts;
  opts.allowed_globals = {"numpy.dtype"};
  auto t = ParsePickle(data, opts);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(),
              HasSubstr("'sklearn.preprocessing._data.MaxAbsScaler' is not in the allow-list"));
}

}  // namespace
}  // namespace wattson::archive
