//===- AttentionOpTest.cpp - mixer.attention through the C++ API ----------===//

#include "JitHarness.h"

#include "Mixer/IR/MixerOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/AsmParser/AsmParser.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir;
using namespace tmix;

namespace {

class AttentionOpTest : public ::testing::Test {
protected:
  void SetUp() override {
    ctx = test::makeContext();
    builder = std::make_unique<OpBuilder>(ctx.get());
    module = ModuleOp::create(builder->getUnknownLoc());
  }

  /// A function whose arguments have `types`, with the builder inside it.
  SmallVector<Value> makeArgs(ArrayRef<Type> types) {
    builder->setInsertionPointToEnd(module->getBody());
    auto func = func::FuncOp::create(*builder, builder->getUnknownLoc(), "f",
                                     builder->getFunctionType(types, {}));
    Block *body = func.addEntryBlock();
    builder->setInsertionPointToEnd(body);
    return SmallVector<Value>(body->getArguments());
  }

  RankedTensorType t(ArrayRef<int64_t> shape, Type elt = {}) {
    return RankedTensorType::get(shape, elt ? elt : builder->getF32Type());
  }

  /// Verifies `op` and returns the first diagnostic, or "" when it verifies.
  std::string verifyMessage(Operation *op) {
    std::string message;
    ScopedDiagnosticHandler handler(ctx.get(), [&](Diagnostic &d) {
      if (message.empty())
        message = d.str();
      return success();
    });
    return failed(mlir::verify(op)) ? (message.empty() ? "?" : message) : "";
  }

  std::unique_ptr<MLIRContext> ctx;
  std::unique_ptr<OpBuilder> builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(AttentionOpTest, BuilderInfersResultTypesForGQA) {
  auto args = makeArgs({t({2, 8, 33, 80}), t({2, 2, 17, 80}),
                        t({2, 2, 17, 48}), t({33, 17})});
  auto op = mixer::AttentionOp::create(
      *builder, builder->getUnknownLoc(), args[0], args[1], args[2], args[3],
      mixer::MaskAttr::getCausal(ctx.get()), std::nullopt, /*withLse=*/true);
  EXPECT_EQ(verifyMessage(op), "");
  EXPECT_EQ(op.getOutputType(), t({2, 8, 33, 48}));
  EXPECT_EQ(op.getLse().getType(), t({2, 8, 33}));
  EXPECT_EQ(op.getGroupSize(), 4);
  EXPECT_FLOAT_EQ(op.getEffectiveScale(), 1.0f / std::sqrt(80.0f));
  EXPECT_EQ(op.getMaskOrNone().getKind(), mixer::MaskKind::causal);
}

TEST_F(AttentionOpTest, DefaultsAndExplicitScale) {
  auto args = makeArgs({t({1, 2, 4, 16}), t({1, 2, 4, 16}), t({1, 2, 4, 16})});
  auto op = mixer::AttentionOp::create(
      *builder, builder->getUnknownLoc(), args[0], args[1], args[2], Value(),
      mixer::MaskAttr(), 0.5f, /*withLse=*/false);
  EXPECT_EQ(verifyMessage(op), "");
  EXPECT_FALSE(op.getLse());
  EXPECT_FALSE(op.getBias());
  EXPECT_FLOAT_EQ(op.getEffectiveScale(), 0.5f);
  EXPECT_TRUE(op.getMaskOrNone().isFull());
}

TEST_F(AttentionOpTest, DynamicBatchAndLengths) {
  const int64_t dyn = ShapedType::kDynamic;
  auto args = makeArgs({t({dyn, 4, dyn, 64}), t({dyn, 1, dyn, 64}),
                        t({dyn, 1, dyn, 64})});
  auto op = mixer::AttentionOp::create(
      *builder, builder->getUnknownLoc(), args[0], args[1], args[2], Value(),
      mixer::MaskAttr::getWindow(ctx.get(), 128, 0), std::nullopt, true);
  EXPECT_EQ(verifyMessage(op), "");
  EXPECT_EQ(op.getOutputType(), t({dyn, 4, dyn, 64}));
}

TEST_F(AttentionOpTest, VerifierRejectsBadGroupsAndShapes) {
  Type f16 = builder->getF16Type();
  auto args = makeArgs({t({1, 6, 8, 32}), t({1, 4, 8, 32}), t({1, 4, 8, 32}),
                        t({1, 4, 8, 16}), t({1, 4, 8, 32}, f16),
                        t({1, 4, 3, 8})});
  Location loc = builder->getUnknownLoc();
  auto groups = mixer::AttentionOp::create(*builder, loc, args[0], args[1],
                                           args[2], Value(), {}, {}, false);
  EXPECT_NE(verifyMessage(groups).find("must be a multiple of key/value heads"),
            std::string::npos)
      << verifyMessage(groups);
  auto headDim = mixer::AttentionOp::create(*builder, loc, args[1], args[3],
                                            args[2], Value(), {}, {}, false);
  EXPECT_NE(verifyMessage(headDim).find("head dim of 'key' (D = 16)"),
            std::string::npos)
      << verifyMessage(headDim);
  auto types = mixer::AttentionOp::create(*builder, loc, args[1], args[4],
                                          args[2], Value(), {}, {}, false);
  EXPECT_NE(verifyMessage(types).find("element types must match"),
            std::string::npos)
      << verifyMessage(types);
  auto bias = mixer::AttentionOp::create(*builder, loc, args[1], args[1],
                                         args[1], args[5], {}, {}, false);
  EXPECT_NE(verifyMessage(bias).find("is not broadcastable"), std::string::npos)
      << verifyMessage(bias);
}

TEST_F(AttentionOpTest, MaskAttrRoundTripsThroughText) {
  const char *spellings[] = {
      "#mixer.mask<none>",
      "#mixer.mask<causal>",
      "#mixer.mask<window, left = 128, right = 0>",
      "#mixer.mask<block_local, block = 64>",
      "#mixer.mask<dilated, width = 8, dilation = 2>",
      "#mixer.mask<global_local, global = 4, left = 64, right = 64>",
  };
  for (const char *s : spellings) {
    Attribute attr = parseAttribute(s, ctx.get());
    ASSERT_TRUE(attr) << s;
    ASSERT_TRUE(isa<mixer::MaskAttr>(attr)) << s;
    std::string printed;
    llvm::raw_string_ostream os(printed);
    attr.print(os);
    EXPECT_EQ(printed, s);
  }
  auto w = cast<mixer::MaskAttr>(
      parseAttribute("#mixer.mask<window, right = 2, left = 5>", ctx.get()));
  EXPECT_EQ(w, mixer::MaskAttr::getWindow(ctx.get(), 5, 2));
}

TEST_F(AttentionOpTest, MaskAttrRejectsBadSizes) {
  std::string message;
  ScopedDiagnosticHandler handler(ctx.get(), [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  EXPECT_FALSE(parseAttribute("#mixer.mask<block_local, block = 0>", ctx.get()));
  EXPECT_NE(message.find("'block' must be >= 1, got 0"), std::string::npos)
      << message;
  EXPECT_TRUE(failed(mixer::MaskAttr::verify(
      [&] { return emitError(UnknownLoc::get(ctx.get())); },
      mixer::MaskKind::window, -1, 0, 0, 0, 0, 0)));
  EXPECT_NE(message.find("'left' must be >= 0, got -1"), std::string::npos)
      << message;
}

} // namespace
