/*===- FakeNoSymbolArtifact.c - a shared library that is no tmix artifact -===
 *
 * A perfectly good shared library that does not export tmix_artifact_module.
 *===----------------------------------------------------------------------===*/

__attribute__((visibility("default"))) int not_a_tmix_artifact(void) {
  return 42;
}
