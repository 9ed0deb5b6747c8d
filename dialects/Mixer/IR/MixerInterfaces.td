//===- MixerInterfaces.td - mixer dialect interfaces -------*- tablegen -*-===//

#ifndef MIXER_INTERFACES_TD
#define MIXER_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Mixer_OperandDimEqualityOpInterface
    : OpInterface<"OperandDimEqualityOpInterface"> {
  let cppNamespace = "::tmix::mixer";
  let description = [{
    States which dynamic operand dimensions an op requires to be equal (the
    key and value sequence lengths of attention, the batch of all its
    inputs). Verifiers can only check these when both sizes are static; the
    AOT compiler turns them into run-time checks of the entry points'
    arguments, so that mismatched inputs are refused before compiled code
    reads out of bounds.
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/[{
        Appends one `{operandA, dimA, operandB, dimB}` entry per pair of
        operand dimensions that must be equal.
      }],
      /*retTy=*/"void",
      /*methodName=*/"getEqualOperandDims",
      /*args=*/(ins "::llvm::SmallVectorImpl<std::array<int64_t, 4>> &":$pairs)
    >
  ];
}

#endif // MIXER_INTERFACES_TD
