import { BlockStore, IngestLeases, ManifestStore } from "@graviton/runtime"
import { CrashLaws } from "@graviton/runtime/testing"
import { Layer } from "effect"

// Memory stores kept outside the layer's lifetime: "reopening" sees the same state, as a persistent backend would.
const blocks = BlockStore.makeMemory()
const manifests = ManifestStore.makeMemory()
const reopenable = Layer.mergeAll(
  Layer.succeed(BlockStore.BlockStore, blocks),
  Layer.succeed(ManifestStore.ManifestStore, manifests),
  IngestLeases.layerMemory
)

CrashLaws.run("memory (shared across sessions)", reopenable)
