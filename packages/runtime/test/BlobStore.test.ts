import { BlobStore } from "@graviton/runtime"
import { BlobStoreSuite } from "@graviton/runtime/testing"

BlobStoreSuite.run("CAS engine on memory", BlobStore.layerMemory)
