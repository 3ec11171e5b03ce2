// Status and Result<T>: the error type at every seam of wattson. A Status carries a code and a
// human-readable message; Result<T> holds either a value or a non-OK Status. No exceptions cross
// these seams.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace wattson {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's input is wrong (bad file, bad request, bad flag)
  kNotFound,         // a file, model or key that does not exist
  kIoError,          // the OS failed a read or write
  kOutOfRange,       // a value or size beyond a documented limit
  kFailedPrecondition,
  kUnavailable,  // a source that is not present on this host (no RAPL, no NVML)
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message" (no-op on OK).
  Status WithContext(std::string_view context) const;
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or an error. Accessing value() of an error Result is a programming bug and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(data_).ok()) {
      data_ = Status::Internal("Result constructed from an OK status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<Result*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Checked(); }

 private:
  T& Checked();
  std::variant<T, Status> data_;
};

[[noreturn]] void DieOnBadResultAccess(const Status& status);

template <typename T>
T& Result<T>::Checked() {
  if (!ok()) DieOnBadResultAccess(std::get<Status>(data_));
  return std::get<T>(data_);
}

}  // namespace wattson

#define WATTSON_CONCAT_INNER_(a, b) a##b
#define WATTSON_CONCAT_(a, b) WATTSON_CONCAT_INNER_(a, b)

// Evaluates expr (a Status); returns it from the enclosing function if it is not OK.
#define WATTSON_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::wattson::Status wattson_status_ = (expr);        \
    if (!wattson_status_.ok()) return wattson_status_; \
  } while (false)

// Evaluates expr (a Result<T>); on error returns its Status, else moves the value into lhs.
#define WATTSON_ASSIGN_OR_RETURN(lhs, expr) \
  WATTSON_ASSIGN_OR_RETURN_IMPL_(WATTSON_CONCAT_(wattson_result_, __LINE__), lhs, expr)
#define WATTSON_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
