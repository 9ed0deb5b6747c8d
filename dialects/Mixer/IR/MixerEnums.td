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

#endif // MIXER_ENUMS_TD
