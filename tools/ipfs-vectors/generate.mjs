// Generates UnixFS / CID / CAR test vectors for hybridmarket.ipfs with the reference
// JavaScript importer configured exactly like Kubo's `ipfs add`:
//   chunker fixed 262144, balanced layout with 174 children per node,
//   CIDv1 => raw leaves, CIDv0 => dag-pb UnixFS "file" leaves, single leaf reduced to itself.
// Usage: npm ci && npm run generate   (writes ../../tests/vectors/ipfs/unixfs.json)
import { writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CarWriter } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'

const CHUNK = 262144
const PATTERN_MODULUS = 251

// Deterministic content: byte i is i % 251 (251 is prime, so consecutive chunks differ).
function content (size) {
  const buf = new Uint8Array(size)
  for (let i = 0; i < size; i++) buf[i] = i % PATTERN_MODULUS
  return buf
}

// [name, size, chunkSize, maxChildrenPerNode]: Kubo's parameters, except the last cases,
// which shrink both to get trees three and four levels deep from small files.
const CASES = [
  ['empty', 0, CHUNK, 174],
  ['one-byte', 1, CHUNK, 174],
  ['one-chunk', CHUNK, CHUNK, 174],
  ['one-chunk-plus-one', CHUNK + 1, CHUNK, 174],
  ['one-mib', 1048576, CHUNK, 174],
  ['one-million', 1000000, CHUNK, 174],
  ['174-chunks', 174 * CHUNK, CHUNK, 174],
  ['175-chunks', 175 * CHUNK, CHUNK, 174],
  ['multi-level-175-chunks-plus-one', 175 * CHUNK + 1, CHUNK, 174],
  ['small-params-depth-3', 10 * 1000 + 7, 1000, 3],
  ['small-params-depth-4', 28 * 100, 100, 3]
]

const SETTINGS = {
  0: { cidVersion: 0, rawLeaves: false },
  1: { cidVersion: 1, rawLeaves: true }
}

async function importBytes (bytes, version, chunkSize, maxChildren) {
  const blocks = new Map()
  const store = { put: async (cid, block) => { blocks.set(cid.toString(), { cid, bytes: block }); return cid } }
  const options = {
    ...SETTINGS[version],
    chunker: fixedSize({ chunkSize }),
    layout: balanced({ maxChildrenPerNode: maxChildren }),
    reduceSingleLeafToSelf: true,
    leafType: 'file',
    wrapWithDirectory: false
  }
  let last
  for await (const entry of importer([{ content: bytes }], store, options)) last = entry
  return { root: last.cid, blocks, size: last.size }
}

// Depth-first, pre-order, links in order, each block once: the order of a trustless gateway's CAR
function dfsOrder (root, blocks) {
  const order = []
  const seen = new Set()
  const visit = (cid) => {
    const key = cid.toString()
    if (seen.has(key)) return
    seen.add(key)
    const block = blocks.get(key)
    order.push(block)
    if (cid.code === dagPb.code) {
      for (const link of dagPb.decode(block.bytes).Links) visit(link.Hash)
    }
  }
  visit(root)
  return order
}

// Number of links from the root to the first leaf (0 for a single-block file)
function depth (root, blocks) {
  let d = 0
  let cid = root
  while (cid.code === dagPb.code) {
    const links = dagPb.decode(blocks.get(cid.toString()).bytes).Links
    if (links.length === 0) break
    cid = links[0].Hash
    d++
  }
  return d
}

async function carBytes (root, ordered) {
  const { writer, out } = CarWriter.create([root])
  const chunks = []
  const collect = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of ordered) await writer.put({ cid: b.cid, bytes: b.bytes })
  await writer.close()
  await collect
  return Buffer.concat(chunks)
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex')

const vectors = []
for (const [name, size, chunkSize, maxChildren] of CASES) {
  const bytes = content(size)
  for (const version of [0, 1]) {
    const { root, blocks, size: dagSize } = await importBytes(bytes, version, chunkSize, maxChildren)
    const ordered = dfsOrder(root, blocks)
    const car = await carBytes(root, ordered)
    const rootBlock = blocks.get(root.toString()).bytes
    vectors.push({
      name,
      size,
      chunk_size: chunkSize,
      max_children: maxChildren,
      cid_version: version,
      raw_leaves: SETTINGS[version].rawLeaves,
      cid: root.toString(),
      dag_size: Number(dagSize),
      block_count: ordered.length,
      root_block_sha256: sha256(rootBlock),
      root_block_hex: rootBlock.length <= 512 ? Buffer.from(rootBlock).toString('hex') : null,
      dfs_block_cids: ordered.length <= 8 ? ordered.map(b => b.cid.toString()) : null,
      depth: depth(root, blocks),
      car_sha256: sha256(car),
      car_length: car.length
    })
  }
}

const doc = {
  generator: 'tools/ipfs-vectors/generate.mjs',
  importer: 'ipfs-unixfs-importer@17.1.1 (+ @ipld/car@5.4.7 for the CAR files)',
  settings: 'chunker fixed chunk_size (262144 = Kubo); balanced layout, maxChildrenPerNode max_children (174 = Kubo); reduceSingleLeafToSelf true; v1: rawLeaves true; v0: rawLeaves false, leafType file',
  content: 'byte i of a file is i % 251',
  car_order: 'CARv1 with one root; blocks depth-first pre-order, links in order, duplicates written once',
  vectors
}
const outPath = process.argv[2] ?? '../../tests/vectors/ipfs/unixfs.json'
writeFileSync(outPath, JSON.stringify(doc, null, 2) + '\n')
console.log(`wrote ${vectors.length} vectors to ${outPath}`)
