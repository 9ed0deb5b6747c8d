//===- MixerEnums.td - mixer dialect enums -----------------*- tablegen -*-===//

#ifndef MIXER_ENUMS_TD
#define MIXER_ENUMS_TD

include "mlir/IR/EnumAttr.td"

def Mixer_MaskKind : I32EnumAttr<"MaskKind", "structured attention mask kind", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"causal", 1>,
    I32EnumAttrCase<"window", 2>,
    I32EnumAttrCase<"block_local", 3>,
    I32EnumAttrCase<"dilated", 4>,
    I32EnumAttrCase<"global_local", 5>
  ]> {
  let cppNamespace = "::tmix::mixer";
  // The kind is only ever stored inside #mixer.mask, never as its own attribute.
  let genSpecializedAttr = 0;
}

def Mixer_ActivationKind : I32EnumAttr<"ActivationKind",
    "pointwise activation of a mixer.mlp", [
    I32EnumAttrCase<"gelu", 0>,
    I32EnumAttrCase<"squared_relu", 1>,
    I32EnumAttrCase<"star_relu", 2>
  ]> {
  let cppNamespace = "::tmix::mixer";
}

#endif // MIXER_ENUMS_TD
