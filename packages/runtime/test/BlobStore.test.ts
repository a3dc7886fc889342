import { BlobStore } from "@graviton/runtime"
import { BlobStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

BlobStoreSuite.run("CAS engine on memory", BlobStore.layerMemory)
BlobStoreSuite.run(
  "CAS engine on memory, hashing inline",
  BlobStore.layer({ hashing: "inline" }).pipe(Layer.provide(BlobStore.layerMemoryStores))
)
BlobStoreSuite.run(
  "CAS engine on memory, BLAKE3 keys",
  BlobStore.layer({ algorithm: "blake3" }).pipe(Layer.provide(BlobStore.layerMemoryStores)),
  { algorithm: "blake3" }
)
