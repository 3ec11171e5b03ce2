#include "models/archive/kepler_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/file_util.h"
#include "models/model_loader.h"
#include "models/tree_ensemble.h"

namespace wattson::archive {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string SamplesDir() {
  const char* env = std::getenv("WATTSON_TESTDATA_DIR");
  std::string root = env != nullptr ? env : WATTSON_TESTDATA_DIR;
  return root + "/kepler-model-db/ec2-0.7.11_samples/";
}

std::vector<std::uint8_t> FileBytes(const std::string& path) {
  auto text = ReadLocalFile(path);
  EXPECT_TRUE(text.ok()) << text.status().message();
  if (!text.ok()) return {};
  return {text->begin(), text->end()};
}

// Every archive with reference predictions: (feature group, model name).
std::vector<std::pair<std::string, std::string>> ExpectedCases() {
  std::vector<std::pair<std::string, std::string>> cases;
  for (const auto& e : fs::directory_iterator(SamplesDir() + "expected")) {
    const std::string name = e.path().filename().string();
    const std::string suffix = ".input.csv";
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
      continue;
    }
    const std::string stem = name.substr(0, name.size() - suffix.size());
    const auto us = stem.find('_');
    cases.emplace_back(stem.substr(0, us), stem.substr(us + 1));
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string ArchivePath(const std::string& fg, const std::string& model) {
  return SamplesDir() + "rapl-sysfs/AbsPower/" + fg + "/" + model + ".zip";
}

CsvTable ReadCsv(const std::string& path) {
  auto text = ReadLocalFile(path);
  EXPECT_TRUE(text.ok()) << path;
  auto t = ParseCsv(text.ok() ? *text : "", path);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : CsvTable{};
}

FeatureMatrix InputRows(const CsvTable& t) {
  std::vector<std::vector<double>> rows;
  for (const auto& r : t.rows) {
    std::vector<double> row;
    for (const auto& f : r) row.push_back(*ParseFiniteDouble(f));
    rows.push_back(row);
  }
  auto m = FeatureMatrix::FromRows(t.header, rows);
  EXPECT_TRUE(m.ok());
  return m.ok() ? *m : FeatureMatrix{};
}

bool CloseRel(double a, double b, double rel) {
  if (a == b) return true;
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b));
}

// Predictions of two models on the same rows agree to `rel` for every component of `a`.
void ExpectSamePredictions(const PowerModel& a, const PowerModel& b, const FeatureMatrix& x,
                           double rel, const std::string& label) {
  auto pa = a.Predict(x);
  auto pb = b.Predict(x);
  ASSERT_TRUE(pa.ok()) << label << ": " << pa.status().message();
  ASSERT_TRUE(pb.ok()) << label << ": " << pb.status().message();
  for (const auto& ca : pa->components) {
    const ComponentPower* cb = pb->Find(ca.component);
    ASSERT_NE(cb, nullptr) << label;
    for (std::size_t r = 0; r < ca.watts.size(); ++r) {
      EXPECT_TRUE(CloseRel(ca.watts[r].value(), cb->watts[r].value(), rel))
          << label << " " << ComponentName(ca.component) << " row " << r + 1 << ": "
          << ca.watts[r].value() << " vs " << cb->watts[r].value();
    }
  }
}

TEST(KeplerArchiveTest, EverySampleReproducesTheReferencePredictions) {
  const auto cases = ExpectedCases();
  ASSERT_EQ(cases.size(), 11u);
  for (const auto& [fg, model] : cases) {
    const std::string label = fg + "/" + model;
    auto archive = LoadKeplerArchive(ArchivePath(fg, model));
    ASSERT_TRUE(archive.ok()) << label << ": " << archive.status().message();
    const CsvTable input = ReadCsv(SamplesDir() + "expected/" + fg + "_" + model + ".input.csv");
    const CsvTable expected =
        ReadCsv(SamplesDir() + "expected/" + fg + "_" + model + ".expected.csv");
    const FeatureMatrix x = InputRows(input);
    ASSERT_EQ(x.rows(), expected.rows.size()) << label;
    auto p = archive->model->Predict(x);
    ASSERT_TRUE(p.ok()) << label << ": " << p.status().message();
    ASSERT_EQ(p->components.size(), expected.header.size()) << label;
    for (std::size_t c = 0; c < expected.header.size(); ++c) {
      auto comp = ParseComponent(expected.header[c]);
      ASSERT_TRUE(comp.ok());
      const ComponentPower* got = p->Find(*comp);
      ASSERT_NE(got, nullptr) << label << " " << expected.header[c];
      for (std::size_t r = 0; r < x.rows(); ++r) {
        const double want = *ParseFiniteDouble(expected.rows[r][c]);
        EXPECT_TRUE(CloseRel(got->watts[r].value(), want, 1e-9))
            << label << " " << expected.header[c] << " row " << r + 1 << ": got "
            << got->watts[r].value() << " want " << want;
      }
    }
  }
}

TEST(KeplerArchiveTest, MetadataAndLayoutFillTheModelInfo) {
  auto a = LoadKeplerArchive(ArchivePath("BPFIRQ", "GradientBoostingRegressorTrainer_0"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  const ModelInfo& info = a->model->info();
  EXPECT_EQ(info.name, "GradientBoostingRegressorTrainer_0");
  EXPECT_EQ(info.trainer, "GradientBoostingRegressorTrainer");
  EXPECT_EQ(info.feature_group, "BPFIRQ");
  EXPECT_EQ(info.energy_source, "rapl-sysfs");
  EXPECT_EQ(info.node_type, 0);
  EXPECT_EQ(info.output_type, OutputType::kAbsPower);
  EXPECT_EQ(info.components.size(), 4u);
  EXPECT_EQ(info.features.size(), 5u);
  EXPECT_EQ(info.errors.protocol, "kepler-published");
  EXPECT_TRUE(info.errors.has_mae());
  EXPECT_EQ(a->published_metrics.count("mae"), 1u);
  EXPECT_EQ(a->published_metrics.count("core_mape"), 0u);  // -1: undefined, left out
  // Kepler's GradientBoostingRegressor: 100 depth-3 trees per component.
  const auto* pipeline = a->model->pipelines().data();
  ASSERT_NE(pipeline->regressor, nullptr);
  EXPECT_EQ(pipeline->regressor->family(), "tree_ensemble");
}

TEST(KeplerArchiveTest, WeightJsonBesideTheArchiveGivesTheSamePredictions) {
  int compared = 0;
  for (const auto& [fg, model] : ExpectedCases()) {
    const std::string weight = SamplesDir() + "rapl-sysfs/AbsPower/" + fg + "/" + model + ".json";
    if (!fs::exists(weight)) continue;
    auto archive = LoadKeplerArchive(ArchivePath(fg, model));
    ASSERT_TRUE(archive.ok()) << archive.status().message();
    auto json = LoadModelFile(weight);
    ASSERT_TRUE(json.ok()) << weight << ": " << json.status().message();
    const FeatureMatrix x =
        InputRows(ReadCsv(SamplesDir() + "expected/" + fg + "_" + model + ".input.csv"));
    ExpectSamePredictions(*archive->model, **json, x, 1e-9, fg + "/" + model);
    ++compared;
  }
  EXPECT_EQ(compared, 4);  // SGD, Exponential, and the two Logarithmic models
}

// Writes a zip's members into a fresh folder: an unpacked archive.
std::string Unpack(const std::string& zip, const std::string& dir) {
  const std::vector<std::uint8_t> bytes = FileBytes(zip);
  auto members = ReadZipMembers(bytes, zip);
  EXPECT_TRUE(members.ok()) << members.status().message();
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [name, data] : *members) {
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  }
  return dir;
}

std::string TempDir(const std::string& name) {
  return (fs::temp_directory_path() /
          ("wattson-archive-test-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST(KeplerArchiveTest, UnpackedFolderLoadsLikeTheZip) {
  const std::string dir =
      TempDir("unpacked") + "/rapl-sysfs/AbsPower/BPFIRQ/PolynomialRegressionTrainer_0";
  Unpack(ArchivePath("BPFIRQ", "PolynomialRegressionTrainer_0"), dir);
  EXPECT_TRUE(IsKeplerArchivePath(dir));
  EXPECT_TRUE(IsKeplerArchivePath(ArchivePath("BPFIRQ", "PolynomialRegressionTrainer_0")));
  EXPECT_FALSE(IsKeplerArchivePath(SamplesDir() + "metadata.json"));
  auto folder = LoadKeplerArchive(dir);
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  EXPECT_EQ(folder->model->info().feature_group, "BPFIRQ");
  auto zip = LoadKeplerArchive(ArchivePath("BPFIRQ", "PolynomialRegressionTrainer_0"));
  ASSERT_TRUE(zip.ok());
  const FeatureMatrix x =
      InputRows(ReadCsv(SamplesDir() + "expected/BPFIRQ_PolynomialRegressionTrainer_0.input.csv"));
  ExpectSamePredictions(*folder->model, *zip->model, x, 0, "folder vs zip");
  fs::remove_all(TempDir("unpacked"));
}

TEST(KeplerArchiveTest, LoadModelFileReadsArchives) {
  auto m = LoadModelFile(ArchivePath("BPFOnly", "SVRRegressorTrainer_0"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ((*m)->info().trainer, "SVRRegressorTrainer");
  EXPECT_EQ((*m)->FamilySummary().find("svr") != std::string::npos, true);
}

// --- hand-made archives ------------------------------------------------------------------------

uint32_t Crc32(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

struct RawMember {
  std::string name;
  std::string data;
  int64_t declared_size = -1;  // -1: the real size
};

void Put16(std::string* s, uint32_t v) {
  s->push_back(static_cast<char>(v & 0xff));
  s->push_back(static_cast<char>((v >> 8) & 0xff));
}
void Put32(std::string* s, uint32_t v) {
  Put16(s, v & 0xffff);
  Put16(s, v >> 16);
}

// A stored (uncompressed) zip written byte by byte, so that names, duplicates and declared sizes
// can be anything.
std::vector<std::uint8_t> RawZip(const std::vector<RawMember>& members) {
  std::string out, central;
  for (const RawMember& m : members) {
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t size = static_cast<uint32_t>(m.data.size());
    const uint32_t declared = m.declared_size >= 0 ? static_cast<uint32_t>(m.declared_size) : size;
    const uint32_t crc = Crc32(m.data);
    Put32(&out, 0x04034b50);
    Put16(&out, 20);
    Put16(&out, 0);
    Put16(&out, 0);  // stored
    Put16(&out, 0);
    Put16(&out, 0x21);
    Put32(&out, crc);
    Put32(&out, size);
    Put32(&out, declared);
    Put16(&out, static_cast<uint32_t>(m.name.size()));
    Put16(&out, 0);
    out += m.name;
    out += m.data;
    Put32(&central, 0x02014b50);
    Put16(&central, 20);
    Put16(&central, 20);
    Put16(&central, 0);
    Put16(&central, 0);
    Put16(&central, 0);
    Put16(&central, 0x21);
    Put32(&central, crc);
    Put32(&central, size);
    Put32(&central, declared);
    Put16(&central, static_cast<uint32_t>(m.name.size()));
    Put16(&central, 0);
    Put16(&central, 0);
    Put16(&central, 0);
    Put16(&central, 0);
    Put32(&central, 0);
    Put32(&central, offset);
    central += m.name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  Put32(&out, 0x06054b50);
  Put16(&out, 0);
  Put16(&out, 0);
  Put16(&out, static_cast<uint32_t>(members.size()));
  Put16(&out, static_cast<uint32_t>(members.size()));
  Put32(&out, static_cast<uint32_t>(central.size()));
  Put32(&out, cd_offset);
  Put16(&out, 0);
  return {out.begin(), out.end()};
}

// A deflated zip written by libzip.
std::vector<std::uint8_t> LibzipZip(const std::vector<std::pair<std::string, std::string>>& files) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* z = zip_open_from_source(src, ZIP_TRUNCATE, &error);
  EXPECT_NE(z, nullptr);
  zip_source_keep(src);
  for (const auto& [name, data] : files) {
    zip_source_t* s = zip_source_buffer(z, data.data(), data.size(), 0);
    EXPECT_GE(zip_file_add(z, name.c_str(), s, ZIP_FL_ENC_UTF_8), 0) << name;
  }
  EXPECT_EQ(zip_close(z), 0);
  std::vector<std::uint8_t> out;
  EXPECT_EQ(zip_source_open(src), 0);
  zip_source_seek(src, 0, SEEK_END);
  out.resize(static_cast<std::size_t>(zip_source_tell(src)));
  zip_source_seek(src, 0, SEEK_SET);
  EXPECT_EQ(zip_source_read(src, out.data(), out.size()), static_cast<zip_int64_t>(out.size()));
  zip_source_close(src);
  zip_source_free(src);
  zip_error_fini(&error);
  return out;
}

TEST(ZipReaderTest, ReadsStoredAndDeflatedMembers) {
  auto raw = ReadZipMembers(RawZip({{"a.txt", "hello"}, {"dir/", ""}, {"b", ""}}), "raw");
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  EXPECT_EQ(raw->size(), 2u);
  EXPECT_EQ(std::string(raw->at("a.txt").begin(), raw->at("a.txt").end()), "hello");
  auto deflated = ReadZipMembers(LibzipZip({{"x", std::string(5000, 'x')}}), "deflated");
  ASSERT_TRUE(deflated.ok()) << deflated.status().message();
  EXPECT_EQ(deflated->at("x").size(), 5000u);
}

TEST(ZipReaderTest, RejectsUnsafeNamesBeforeReading) {
  const std::vector<std::string> names = {"../evil.pkl", "/etc/passwd", "a/../../b", "C:evil",
                                          "a\\b",        "./x",         "a//b",      "a\x01"};
  for (const std::string& name : names) {
    auto r = ReadZipMembers(RawZip({{name, "data"}}), "slip");
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_THAT(r.status().message(), HasSubstr("unsafe name")) << name;
  }
  EXPECT_EQ(UnsafeMemberNameReason("scaler.pkl"), "");
  EXPECT_EQ(UnsafeMemberNameReason("sub/dir/file"), "");
}

TEST(ZipReaderTest, RejectsDuplicatesBombsAndLies) {
  auto dup = ReadZipMembers(RawZip({{"m.pkl", "a"}, {"m.pkl", "b"}}), "dup");
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("same name"));

  ZipLimits small;
  small.max_member_bytes = 100;
  auto big = ReadZipMembers(RawZip({{"big", std::string(200, 'b')}}), "big", small);
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("over the limit"));

  // A declared size of 4 GiB - 1 is refused from the directory alone.
  auto huge = ReadZipMembers(RawZip({{"h", "tiny", 0xffffffffLL}}), "huge");
  ASSERT_FALSE(huge.ok());

  // 8 MiB of zeros deflates about 1000:1: refused as a bomb before inflating.
  auto bomb = ReadZipMembers(LibzipZip({{"zeros", std::string(8u << 20, '\0')}}), "bomb");
  ASSERT_FALSE(bomb.ok());
  EXPECT_THAT(bomb.status().message(), HasSubstr("zip bomb"));

  ZipLimits total;
  total.max_total_bytes = 150;
  auto sum = ReadZipMembers(RawZip({{"a", std::string(100, 'a')}, {"b", std::string(100, 'b')}}),
                            "sum", total);
  ASSERT_FALSE(sum.ok());
  EXPECT_THAT(sum.status().message(), HasSubstr("in all"));

  ZipLimits few;
  few.max_entries = 1;
  EXPECT_FALSE(ReadZipMembers(RawZip({{"a", "1"}, {"b", "2"}}), "many", few).ok());

  // A stored member whose declared size disagrees with its data.
  EXPECT_FALSE(ReadZipMembers(RawZip({{"lie", "0123456789", 4}}), "lie").ok());
  EXPECT_FALSE(ReadZipMembers(RawZip({{"lie", "0123", 10}}), "lie2").ok());
}

TEST(ZipReaderTest, NotZipAndTruncatedArchivesFailCleanly) {
  const std::vector<std::uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  auto r = ReadZipMembers(text, "text");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not a zip"));
  const std::vector<std::uint8_t> zip =
      FileBytes(ArchivePath("BPFIRQ", "LinearRegressionTrainer_0"));
  for (std::size_t n = 0; n < zip.size(); n += 7) {
    auto t = KeplerArchiveFromZip(std::span(zip.data(), n), "truncated.zip");
    EXPECT_FALSE(t.ok()) << n;
  }
}

TEST(KeplerArchiveTest, ByteFlipsNeverCrash) {
  const std::vector<std::uint8_t> zip =
      FileBytes(ArchivePath("BPFOnly", "LogarithmicRegressionTrainer_0"));
  std::mt19937 rng(7);
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::uint8_t> copy = zip;
    const std::size_t at = rng() % copy.size();
    copy[at] = static_cast<std::uint8_t>(copy[at] ^ (1u << (rng() % 8)));
    auto a = KeplerArchiveFromZip(copy, "flipped.zip");
    if (a.ok()) {
      ++loaded;  // a flip in a timestamp or padding: the model must still predict finite watts
      FeatureMatrix x({"bpf_cpu_time_ms"}, 1);
      x.at(0, 0) = 1000;
      auto p = a->model->Predict(x);
      if (p.ok()) {
        for (const auto& c : p->components) {
          EXPECT_TRUE(std::isfinite(c.watts[0].value()) && c.watts[0].value() >= 0);
        }
      }
    } else {
      EXPECT_FALSE(a.status().message().empty());
    }
  }
  EXPECT_LT(loaded, 3000);
}

// A valid archive built from the Linear sample's members with some of them replaced.
std::vector<std::uint8_t> EditedArchive(
    const std::vector<std::pair<std::string, std::string>>& replace,
    const std::vector<std::string>& drop = {}) {
  auto members =
      ReadZipMembers(FileBytes(ArchivePath("BPFIRQ", "LinearRegressionTrainer_0")), "sample");
  EXPECT_TRUE(members.ok());
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [name, data] : *members) {
    if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
    bool replaced = false;
    for (const auto& [rname, rdata] : replace) {
      if (rname == name) {
        files.emplace_back(name, rdata);
        replaced = true;
      }
    }
    if (!replaced) files.emplace_back(name, std::string(data.begin(), data.end()));
  }
  for (const auto& [rname, rdata] : replace) {
    if (!members->contains(rname)) files.emplace_back(rname, rdata);
  }
  return LibzipZip(files);
}

std::string ComponentMap(const std::string& model_file, const std::string& fe_files,
                         const std::string& features = R"(["bpf_block_irq", "bpf_cpu_time_ms",
                           "bpf_net_rx_irq", "bpf_net_tx_irq", "bpf_page_cache_hit"])") {
  return R"({"package": {"model_file": ")" + model_file + R"(", "features": )" + features +
         R"(, "fe_files": )" + fe_files + "}}";
}

TEST(KeplerArchiveTest, BadArchivesNameTheMemberAndTheReason) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> replace;
    std::vector<std::string> drop;
    std::string message;
  };
  const std::string map = "LinearRegressionTrainer_0.json";
  const std::vector<Case> cases = {
      {{}, {"metadata.json"}, "no member 'metadata.json'"},
      {{{"metadata.json", "[1, 2]"}}, {}, "metadata.json: is not a JSON object"},
      {{{"metadata.json", R"({"model_name": "../../x"})"}}, {}, "unsafe name"},
      {{{"metadata.json", R"({"model_name": "nope"})"}}, {}, "no member 'nope.json'"},
      {{{map, ComponentMap("package.pkl", R"(["../scaler.pkl"])")}}, {}, "unsafe name"},
      {{{map, ComponentMap("sub/package.pkl", R"(["scaler.pkl"])")}}, {}, "a path"},
      {{{map, R"({"gpu": {"model_file": "package.pkl", "features": ["a"]}})"}}, {}, "gpu"},
      {{{map, ComponentMap("scaler.pkl", R"(["scaler.pkl"])")}},
       {},
       "member scaler.pkl: sklearn.preprocessing._data.MaxAbsScaler is not an estimator"},
      {{{map, ComponentMap("package.pkl", R"(["package.pkl"])")}},
       {},
       "LinearRegression is not a transformer"},
      {{{map, ComponentMap("package.pkl", R"(["scaler.pkl"])", R"(["a", "b"])")}},
       {},
       "fitted on 5 features, but the pipeline gives it 2"},
      {{{map, ComponentMap("package.pkl", R"(["missing.pkl"])")}}, {}, "no member 'missing.pkl'"},
      {{{"package.pkl", "not a pickle"}}, {}, "member package.pkl: pickle: offset 0"},
      {{{"package.pkl", std::string("\x80\x02"
                                    "cposix\nsystem\n"
                                    "(S'id'\ntR.")}},
       {},
       "member package.pkl: pickle: offset 2 opcode GLOBAL (0x63): global 'posix.system' is not "
       "in the allow-list"},
      {{{"package.pkl", std::string("\x80\x02"
                                    "c__builtin__\neval\n.")}},
       {},
       "global '__builtin__.eval' is not in the allow-list"},
      {{{map, ComponentMap("package.json", "[]")}, {"package.json", R"({"learner": 1})"}},
       {},
       "package.json"},
  };
  for (const Case& c : cases) {
    auto a = KeplerArchiveFromZip(EditedArchive(c.replace, c.drop), "edited.zip");
    ASSERT_FALSE(a.ok()) << c.message;
    EXPECT_THAT(a.status().message(), HasSubstr(c.message));
    EXPECT_THAT(a.status().message(), HasSubstr("edited.zip"));
  }
}

TEST(KeplerArchiveTest, UnpackedFolderCannotBeLedOutside) {
  const std::string root = TempDir("escape");
  const std::string dir = root + "/m/LinearRegressionTrainer_0";
  Unpack(ArchivePath("BPFIRQ", "LinearRegressionTrainer_0"), dir);
  std::ofstream(root + "/m/outside.pkl") << "x";
  std::ofstream(dir + "/LinearRegressionTrainer_0.json")
      << ComponentMap("package.pkl", R"(["../outside.pkl"])");
  auto a = LoadKeplerArchive(dir);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("unsafe name"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace wattson::archive
