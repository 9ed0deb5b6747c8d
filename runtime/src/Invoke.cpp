//===- Invoke.cpp - checking and calling entry points ---------------------===//
//
// Every check happens before anything is allocated for the results or the
// entry point is called, so a failed call leaves no partial output behind.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "Internal.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <new>

using namespace tmixrt;

namespace {

/// A memref descriptor of any rank up to the maximum: for rank R, sizes are
/// `sizesAndStrides[0..R)` and strides `[R..2R)`, which is exactly the layout
/// of tmix_abi_memref_R.
struct Descriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizesAndStrides[2 * TMIXRT_MAX_RANK];
};

#define TMIXRT_CHECK_LAYOUT(R)                                                 \
  static_assert(offsetof(tmix_abi_memref_##R, allocated) ==                    \
                        offsetof(Descriptor, allocated) &&                     \
                    offsetof(tmix_abi_memref_##R, aligned) ==                  \
                        offsetof(Descriptor, aligned) &&                       \
                    offsetof(tmix_abi_memref_##R, offset) ==                   \
                        offsetof(Descriptor, offset) &&                        \
                    offsetof(tmix_abi_memref_##R, sizes) ==                    \
                        offsetof(Descriptor, sizesAndStrides) &&               \
                    offsetof(tmix_abi_memref_##R, strides) ==                  \
                        offsetof(Descriptor, sizesAndStrides) +                \
                            R * sizeof(int64_t) &&                             \
                    sizeof(tmix_abi_memref_##R) <= sizeof(Descriptor),         \
                "Descriptor matches tmix_abi_memref_" #R);
TMIXRT_CHECK_LAYOUT(1)
TMIXRT_CHECK_LAYOUT(2)
TMIXRT_CHECK_LAYOUT(3)
TMIXRT_CHECK_LAYOUT(4)
TMIXRT_CHECK_LAYOUT(5)
TMIXRT_CHECK_LAYOUT(6)
#undef TMIXRT_CHECK_LAYOUT
static_assert(offsetof(tmix_abi_memref_0, offset) ==
                  offsetof(Descriptor, offset),
              "Descriptor matches tmix_abi_memref_0");

void describe(const tmixrt_tensor &tensor, Descriptor &descriptor) {
  descriptor.allocated = tensor.data;
  descriptor.aligned = tensor.data;
  descriptor.offset = 0;
  int64_t stride = 1;
  for (size_t i = tensor.rank; i-- > 0;) {
    descriptor.sizesAndStrides[i] = tensor.shape[i];
    descriptor.sizesAndStrides[tensor.rank + i] = stride;
    stride *= tensor.shape[i] ? tensor.shape[i] : 1;
  }
}

using Shape = std::array<int64_t, TMIXRT_MAX_RANK>;

/// "argument 1 ('key') of 'attention'".
std::string describeOperand(const tmixrt_function &fn, const char *kind,
                            size_t index, const TensorInfo &info) {
  return format("%s %zu ('%s') of '%s'", kind, index, info.name.c_str(),
                fn.name.c_str());
}

/// Compares `tensor` with the expected dtype and shape (-1: any size).
/// `why` optionally explains a mismatch in dim i.
tmixrt_status checkTensor(const tmixrt_function &fn, const char *kind,
                          size_t index, const TensorInfo &info,
                          const int64_t *expected, const tmixrt_tensor *tensor,
                          std::string (*why)(const tmixrt_function &, size_t,
                                             size_t, const TensorInfo &,
                                             int64_t)) {
  std::string operand = describeOperand(fn, kind, index, info);
  if (!tensor)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s is null", operand.c_str());
  std::string detail;
  if (tensor->dtype != info.info.dtype) {
    detail =
        format("the dtype is %s, expected %s", tmixrt_dtype_name(tensor->dtype),
               tmixrt_dtype_name(info.info.dtype));
  } else if (tensor->rank != info.info.rank) {
    detail =
        format("the rank is %zu, expected %zu", tensor->rank, info.info.rank);
  } else {
    for (size_t d = 0; d < info.info.rank && detail.empty(); ++d) {
      if (expected[d] < 0 || tensor->shape[d] == expected[d])
        continue;
      detail = why ? why(fn, index, d, info, tensor->shape[d])
                   : format("dimension %zu is %lld, expected %lld", d,
                            static_cast<long long>(tensor->shape[d]),
                            static_cast<long long>(expected[d]));
    }
  }
  if (detail.empty())
    return nullptr;
  return makeStatus(
      TMIXRT_INVALID_ARGUMENT, "%s: expected shape %s (%s), got %s (%s): %s",
      operand.c_str(), formatShape(expected, info.info.rank).c_str(),
      tmixrt_dtype_name(info.info.dtype),
      formatShape(tensor->shape, tensor->rank).c_str(),
      tmixrt_dtype_name(tensor->dtype), detail.c_str());
}

/// Why a caller-provided result has the wrong size in dim `d`.
std::string resultDimMismatch(const tmixrt_function &fn, size_t /*index*/,
                              size_t d, const TensorInfo &info, int64_t got) {
  if (info.sourceArg[d] < 0)
    return format("dimension %zu is %lld, expected %lld", d,
                  static_cast<long long>(got),
                  static_cast<long long>(info.shape[d]));
  const TensorInfo &arg = *fn.args[static_cast<size_t>(info.sourceArg[d])];
  return format("dimension %zu is %lld, but it must equal dimension %d of "
                "argument %d ('%s')",
                d, static_cast<long long>(got), info.sourceDim[d],
                info.sourceArg[d], arg.name.c_str());
}

/// The full argument list of a call: the caller's tensors with the bound
/// weights filled in. Holds on to the binding until the call is over.
struct CallArgs {
  std::shared_ptr<const Binding> binding;
  std::vector<tmixrt_tensor *> args;
};

/// "w, b" for the weight arguments (or the others), at most 8 names.
std::string argNames(const tmixrt_function &fn, bool weights) {
  std::string names;
  size_t listed = 0, count = 0;
  for (const auto &arg : fn.args) {
    if (arg->hasWeightName != weights)
      continue;
    if (++count > 8)
      continue;
    names += (listed++ ? ", " : "") + arg->name;
  }
  if (count > listed)
    names += format(", ... %zu more", count - listed);
  return names.empty() ? "none" : names;
}

/// Accepts either form of argument list (all arguments, NULL for bound
/// weights; or only the non-weight arguments) and fills in the weights.
tmixrt_status resolveArgs(const tmixrt_function &fn, tmixrt_tensor *const *args,
                          size_t numArgs, CallArgs &call) {
  size_t total = fn.args.size(), inputs = total - fn.numWeights;
  bool full = numArgs == total;
  if (!full && !(fn.numWeights && numArgs == inputs)) {
    std::string names;
    for (const auto &arg : fn.args)
      names += (names.empty() ? "" : ", ") + arg->name;
    if (!fn.numWeights)
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "'%s' takes %zu argument(s) (%s), got %zu",
                        fn.name.c_str(), total, names.c_str(), numArgs);
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' takes %zu argument(s) (%s), or only its %zu "
                      "non-weight argument(s) (%s) with its weights bound, "
                      "got %zu",
                      fn.name.c_str(), total, names.c_str(), inputs,
                      argNames(fn, false).c_str(), numArgs);
  }
  if (numArgs && !args)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "the argument list of '%s' is null", fn.name.c_str());
  bool looked = false;
  auto binding = [&]() -> const Binding * {
    if (!looked) {
      call.binding = currentBinding(*fn.module);
      looked = true;
    }
    return call.binding.get();
  };
  call.args.assign(total, nullptr);
  if (full) {
    for (size_t i = 0; i < total; ++i) {
      call.args[i] = args[i];
      const TensorInfo &info = *fn.args[i];
      if (args[i] || !info.hasWeightName)
        continue; // a null non-weight argument is refused by checkTensor
      if (!binding())
        return makeStatus(
            TMIXRT_INVALID_ARGUMENT,
            "%s is null: it is the weight '%s', and no weight file is bound "
            "to the module; bind one with tmixrt_module_bind_weights or pass "
            "the tensor",
            describeOperand(fn, "argument", i, info).c_str(),
            info.weightName.c_str());
      call.args[i] = binding()->args[fn.index][i];
    }
    return nullptr;
  }
  if (!binding())
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' got %zu argument(s), its non-weight arguments "
                      "(%s), but no weight file is bound to the module to "
                      "supply its %zu weight(s) (%s); bind one with "
                      "tmixrt_module_bind_weights or pass all %zu arguments",
                      fn.name.c_str(), numArgs, argNames(fn, false).c_str(),
                      fn.numWeights, argNames(fn, true).c_str(), total);
  for (size_t i = 0, next = 0; i < total; ++i)
    call.args[i] =
        fn.args[i]->hasWeightName ? binding()->args[fn.index][i] : args[next++];
  return nullptr;
}

/// Null when the CUDA backend can run `fn`; UNAVAILABLE saying why not.
tmixrt_status requireCuda(const tmixrt_function &fn) {
  tmixrt_status status = nullptr;
  if (cuda::driver(nullptr, &status))
    return nullptr;
  tmixrt_status wrapped =
      makeStatus(tmixrt_status_code(status),
                 "'%s' runs on CUDA, but the CUDA backend is unavailable: %s",
                 fn.name.c_str(), tmixrt_status_message(status));
  tmixrt_status_free(status);
  return wrapped;
}

/// The CUDA device a call of CUDA function `fn` runs on: its first device
/// argument's, else the current device. -1 for CPU functions.
int32_t callDevice(const tmixrt_function &fn, tmixrt_tensor *const *args,
                   size_t numArgs) {
  if (fn.device != TMIXRT_DEVICE_CUDA)
    return -1;
  for (size_t i = 0; i < numArgs; ++i)
    if (args[i] && args[i]->device == TMIXRT_DEVICE_CUDA)
      return args[i]->deviceOrdinal;
  return cuda::currentDevice();
}

/// Null when every one of `tensors` (all non-null) lives where the call
/// runs: on the host for a CPU function, on CUDA device `device` for a CUDA
/// function.
tmixrt_status
checkPlacement(const tmixrt_function &fn, const char *kind,
               const std::vector<std::unique_ptr<TensorInfo>> &infos,
               tmixrt_tensor *const *tensors, size_t count, int32_t device) {
  for (size_t i = 0; i < count; ++i) {
    const tmixrt_tensor &tensor = *tensors[i];
    std::string operand = describeOperand(fn, kind, i, *infos[i]);
    if (fn.device != TMIXRT_DEVICE_CUDA) {
      if (tensor.device != TMIXRT_DEVICE_CPU)
        return makeStatus(TMIXRT_INVALID_ARGUMENT,
                          "%s is on %s, but '%s' runs on the CPU; copy it to "
                          "a host tensor first (tmixrt_tensor_copy)",
                          operand.c_str(), tensorPlace(tensor).c_str(),
                          fn.name.c_str());
      continue;
    }
    if (tensor.device != TMIXRT_DEVICE_CUDA)
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "%s is a host tensor, but '%s' runs on CUDA; pass a "
                        "device tensor (tmixrt_cuda_tensor_create, "
                        "tmixrt_tensor_copy)%s",
                        operand.c_str(), fn.name.c_str(),
                        infos[i]->hasWeightName
                            ? " (weights bound to the module are host "
                              "tensors: pass this one)"
                            : "");
    if (tensor.deviceOrdinal != device)
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "%s is on %s, but the call runs on %s (the device of "
                        "its first argument, or the current device); all "
                        "tensors of a call must be on one device",
                        operand.c_str(), tensorPlace(tensor).c_str(),
                        cuda::deviceName(device).c_str());
  }
  return nullptr;
}

/// Checks the function, the argument list and the result count, and computes
/// every result's shape. Touches nothing; `call` receives the full argument
/// list.
tmixrt_status checkCall(const tmixrt_function *fn,
                        tmixrt_tensor *const *rawArgs, size_t numRawArgs,
                        bool haveResults, size_t numResults, CallArgs &call,
                        std::vector<Shape> *resultShapes,
                        std::vector<size_t> *resultBytes) {
  if (!fn)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "the function is null");
  if (fn->device == TMIXRT_DEVICE_CUDA)
    if (tmixrt_status status = requireCuda(*fn))
      return status;
  if (tmixrt_status status = resolveArgs(*fn, rawArgs, numRawArgs, call))
    return status;
  tmixrt_tensor *const *args = call.args.data();
  size_t numArgs = call.args.size();
  for (size_t i = 0; i < numArgs; ++i) {
    const TensorInfo &info = *fn->args[i];
    if (tmixrt_status status = checkTensor(*fn, "argument", i, info,
                                           info.shape, args[i], nullptr))
      return status;
    // Dynamic dims the function requires to equal an earlier argument's.
    for (size_t d = 0; d < info.info.rank; ++d) {
      if (info.sourceArg[d] < 0)
        continue;
      size_t src = static_cast<size_t>(info.sourceArg[d]);
      size_t srcDim = static_cast<size_t>(info.sourceDim[d]);
      int64_t want = args[src]->shape[srcDim], got = args[i]->shape[d];
      if (got != want)
        return makeStatus(
            TMIXRT_INVALID_ARGUMENT,
            "%s: dimension %zu is %lld, but it must equal dimension %zu of "
            "argument %zu ('%s'), which is %lld; got shape %s",
            describeOperand(*fn, "argument", i, info).c_str(), d,
            static_cast<long long>(got), srcDim, src,
            fn->args[src]->name.c_str(), static_cast<long long>(want),
            formatShape(args[i]->shape, args[i]->rank).c_str());
    }
  }
  if (tmixrt_status status =
          checkPlacement(*fn, "argument", fn->args, args, numArgs,
                         callDevice(*fn, args, numArgs)))
    return status;
  if (numResults != fn->results.size())
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' returns %zu result(s), got room for %zu",
                      fn->name.c_str(), fn->results.size(), numResults);
  if (numResults && !haveResults)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "the result list of '%s' is null", fn->name.c_str());

  resultShapes->resize(numResults);
  resultBytes->resize(numResults);
  for (size_t i = 0; i < numResults; ++i) {
    const TensorInfo &info = *fn->results[i];
    Shape &shape = (*resultShapes)[i];
    for (size_t d = 0; d < info.info.rank; ++d) {
      if (info.shape[d] >= 0) {
        shape[d] = info.shape[d];
        continue;
      }
      if (info.sourceArg[d] < 0)
        return makeStatus(
            TMIXRT_FAILED_PRECONDITION,
            "%s has dynamic dimension %zu that is not derived from an "
            "argument; tmix ABI version %u cannot call such functions",
            describeOperand(*fn, "result", i, info).c_str(), d,
            TMIX_ABI_VERSION);
      const tmixrt_tensor *arg = args[static_cast<size_t>(info.sourceArg[d])];
      shape[d] = arg->shape[static_cast<size_t>(info.sourceDim[d])];
    }
    size_t elements = 0;
    if (!countElements(shape.data(), info.info.rank,
                       tmixrt_dtype_size(info.info.dtype), &elements,
                       &(*resultBytes)[i]))
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "%s would have shape %s (%s), which is too large",
                        describeOperand(*fn, "result", i, info).c_str(),
                        formatShape(shape.data(), info.info.rank).c_str(),
                        tmixrt_dtype_name(info.info.dtype));
  }
  return nullptr;
}

bool overlaps(const tmixrt_tensor &a, const tmixrt_tensor &b) {
  if (a.device != b.device || a.deviceOrdinal != b.deviceOrdinal)
    return false; // different address spaces
  if (!a.bytes || !b.bytes)
    return false;
  auto a0 = reinterpret_cast<uintptr_t>(a.data);
  auto b0 = reinterpret_cast<uintptr_t>(b.data);
  return a0 < b0 + b.bytes && b0 < a0 + a.bytes;
}

/// Builds the descriptors and calls the entry point. Everything is checked;
/// `args` is the full argument list.
tmixrt_status callEntry(const tmixrt_function &fn, tmixrt_tensor *const *args,
                        tmixrt_tensor *const *results) {
  size_t count = fn.args.size() + fn.results.size();
  std::unique_ptr<Descriptor[]> descriptors(new (std::nothrow)
                                                Descriptor[count ? count : 1]);
  std::unique_ptr<void *[]> pointers(
      new (std::nothrow) void *[count ? count : 1]);
  if (!descriptors || !pointers)
    return makeStatus(TMIXRT_OUT_OF_MEMORY,
                      "cannot allocate the call descriptors of '%s'",
                      fn.name.c_str());
  for (size_t i = 0; i < count; ++i) {
    const tmixrt_tensor &tensor =
        i < fn.args.size() ? *args[i] : *results[i - fn.args.size()];
    describe(tensor, descriptors[i]);
    pointers[i] = &descriptors[i];
  }
  if (fn.device != TMIXRT_DEVICE_CUDA) {
    fn.entry(pointers.get());
    return nullptr;
  }
  // The entry point's mgpu* calls run on the arguments' device and leave
  // their first error in the thread's sticky slot.
  int32_t device = callDevice(fn, args, fn.args.size());
  cuda::CallScope scope(device);
  fn.entry(pointers.get());
  if (tmixrt_status error = scope.finish()) {
    tmixrt_status status = makeStatus(
        tmixrt_status_code(error), "'%s' failed on %s: %s", fn.name.c_str(),
        cuda::deviceName(device).c_str(), tmixrt_status_message(error));
    tmixrt_status_free(error);
    return status;
  }
  return nullptr;
}

} // namespace

extern "C" {

tmixrt_status tmixrt_function_result_shape(const tmixrt_function *fn,
                                           tmixrt_tensor *const *args,
                                           size_t num_args, size_t result_index,
                                           int64_t *shape, size_t capacity) {
  std::vector<Shape> shapes;
  std::vector<size_t> bytes;
  CallArgs call;
  size_t numResults = fn ? fn->results.size() : 0;
  if (tmixrt_status status = checkCall(fn, args, num_args, true, numResults,
                                       call, &shapes, &bytes))
    return status;
  if (result_index >= numResults)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' has %zu result(s), asked for result %zu",
                      fn->name.c_str(), numResults, result_index);
  size_t rank = fn->results[result_index]->info.rank;
  if (rank && (!shape || capacity < rank))
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "result %zu of '%s' has rank %zu, but the shape buffer "
                      "holds %zu entries",
                      result_index, fn->name.c_str(), rank,
                      shape ? capacity : 0);
  for (size_t d = 0; d < rank; ++d)
    shape[d] = shapes[result_index][d];
  return nullptr;
}

tmixrt_status tmixrt_function_invoke(const tmixrt_function *fn,
                                     tmixrt_tensor *const *args,
                                     size_t num_args, tmixrt_tensor **results,
                                     size_t num_results) {
  if (results)
    for (size_t i = 0; i < num_results; ++i)
      results[i] = nullptr;
  std::vector<Shape> shapes;
  std::vector<size_t> bytes;
  CallArgs call;
  if (tmixrt_status status = checkCall(fn, args, num_args, results != nullptr,
                                       num_results, call, &shapes, &bytes))
    return status;

  auto releaseAll = [&] {
    for (size_t i = 0; i < num_results; ++i) {
      tmixrt_tensor_release(results[i]);
      results[i] = nullptr;
    }
  };
  int32_t device = callDevice(*fn, call.args.data(), call.args.size());
  for (size_t i = 0; i < num_results; ++i) {
    const tmixrt_tensor_info &info = fn->results[i]->info;
    if (tmixrt_status status =
            device < 0 ? tmixrt_tensor_create(info.dtype, info.rank,
                                              shapes[i].data(), &results[i])
                       : cuda::createDeviceTensor(
                             "tmixrt_function_invoke", device, info.dtype,
                             info.rank, shapes[i].data(), &results[i])) {
      releaseAll();
      return status;
    }
  }
  if (tmixrt_status status = callEntry(*fn, call.args.data(), results)) {
    releaseAll();
    return status;
  }
  return nullptr;
}

tmixrt_status tmixrt_function_invoke_into(const tmixrt_function *fn,
                                          tmixrt_tensor *const *args,
                                          size_t num_args,
                                          tmixrt_tensor *const *results,
                                          size_t num_results) {
  std::vector<Shape> shapes;
  std::vector<size_t> bytes;
  CallArgs call;
  if (tmixrt_status status = checkCall(fn, args, num_args, results != nullptr,
                                       num_results, call, &shapes, &bytes))
    return status;
  for (size_t i = 0; i < num_results; ++i)
    if (tmixrt_status status =
            checkTensor(*fn, "result", i, *fn->results[i], shapes[i].data(),
                        results[i], resultDimMismatch))
      return status;
  if (tmixrt_status status =
          checkPlacement(*fn, "result", fn->results, results, num_results,
                         callDevice(*fn, call.args.data(), call.args.size())))
    return status;
  for (size_t i = 0; i < num_results; ++i) {
    std::string operand = describeOperand(*fn, "result", i, *fn->results[i]);
    for (size_t j = 0; j < call.args.size(); ++j)
      if (overlaps(*results[i], *call.args[j]))
        return makeStatus(TMIXRT_INVALID_ARGUMENT,
                          "%s overlaps argument %zu ('%s'); results must not "
                          "alias arguments",
                          operand.c_str(), j, fn->args[j]->name.c_str());
    for (size_t j = 0; j < i; ++j)
      if (overlaps(*results[i], *results[j]))
        return makeStatus(TMIXRT_INVALID_ARGUMENT,
                          "%s overlaps result %zu ('%s'); results must not "
                          "alias each other",
                          operand.c_str(), j, fn->results[j]->name.c_str());
  }
  return callEntry(*fn, call.args.data(), results);
}

} // extern "C"
