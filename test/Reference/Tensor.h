//===- Tensor.h - the references' dense double tensor ------------*- C++
//-*-===//
//
// A shape and a row-major std::vector<double>. Nothing else: the references
// are plain loop nests over it. Used only by tests.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TEST_REFERENCE_TENSOR_H
#define TMIX_TEST_REFERENCE_TENSOR_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tmix::ref {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  /// A tensor of `shape` filled with `fill`.
  explicit Tensor(std::vector<int64_t> shape, double fill = 0.0)
      : shape(std::move(shape)) {
    data.assign(static_cast<size_t>(elementCount(this->shape)), fill);
  }
  Tensor(std::vector<int64_t> shape, std::vector<double> data)
      : shape(std::move(shape)), data(std::move(data)) {}

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  /// The size of dimension `i`; negative `i` counts from the end.
  int64_t dim(int64_t i) const { return shape[i < 0 ? i + rank() : i]; }
  double &operator[](int64_t i) { return data[static_cast<size_t>(i)]; }
  double operator[](int64_t i) const { return data[static_cast<size_t>(i)]; }

  /// "[1, 16, 16, 64]".
  std::string shapeString() const { return shapeToString(shape); }

  static int64_t elementCount(const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  static std::string shapeToString(const std::vector<int64_t> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

} // namespace tmix::ref

#endif // TMIX_TEST_REFERENCE_TENSOR_H
