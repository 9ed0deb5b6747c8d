//===- tmix-opt.cpp - mlir-opt with tmix's dialects and passes ------------===//

#include "tmix/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  tmix::registerAllDialects(registry);
  tmix::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "tmix optimizer driver: the mixer dialect, its passes and "
                  "pipelines\n",
      registry));
}
