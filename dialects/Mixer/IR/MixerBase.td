//===- MixerBase.td - mixer dialect definition -------------*- tablegen -*-===//
//
// The `mixer` dialect: token mixers of transformer architectures as
// first-class, structured ops on tensors.
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_BASE_TD
#define MIXER_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Mixer_Dialect : Dialect {
  let name = "mixer";
  let cppNamespace = "::tmix::mixer";
  let summary = "Token mixers of transformer architectures";
  let description = [{
    The `mixer` dialect makes the token mixers of transformer architectures
    (softmax attention with structured masks, pooling, convolutional, linear
    and routing mixers, and the MetaFormer block around them) first-class ops
    with value semantics on ranked tensors. Ops describe their math exactly
    (see `shared/design/mixers.md`); passes lower them to fused, tiled loops
    for CPUs and NVIDIA GPUs.

    Masks are structured attributes (`#mixer.mask<causal>`, ...), never
    materialised L×S tensors, so that code generation can skip whole tiles.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes of MixerAttrs.td (defined in MixerAttrs.cpp).
    void registerAttributes();
  }];
}

class Mixer_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mixer_Dialect, mnemonic, traits>;

class Mixer_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Mixer_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // MIXER_BASE_TD
