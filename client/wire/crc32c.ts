// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), slicing-by-8, and the snappy framing
// format's masking of it. Pure: bytes in, a uint32 out.

const POLY = 0x82f63b78

function makeTables (): Uint32Array[] {
  const tables: Uint32Array[] = []
  const t0 = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ POLY : c >>> 1
    t0[i] = c >>> 0
  }
  tables.push(t0)
  for (let s = 1; s < 8; s++) {
    const prev = tables[s - 1] as Uint32Array
    const t = new Uint32Array(256)
    for (let i = 0; i < 256; i++) {
      const p = prev[i] as number
      t[i] = ((p >>> 8) ^ (t0[p & 0xff] as number)) >>> 0
    }
    tables.push(t)
  }
  return tables
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array]

/** CRC-32C of buf[start, end). */
export function crc32c (buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff
  let i = start
  const stop8 = end - ((end - start) & 7)
  while (i < stop8) {
    const a = crc ^ ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24))
    crc = (T7[a & 0xff] as number) ^ (T6[(a >>> 8) & 0xff] as number) ^
      (T5[(a >>> 16) & 0xff] as number) ^ (T4[a >>> 24] as number) ^
      (T3[buf[i + 4] as number] as number) ^ (T2[buf[i + 5] as number] as number) ^
      (T1[buf[i + 6] as number] as number) ^ (T0[buf[i + 7] as number] as number)
    i += 8
  }
  while (i < end) crc = (T0[(crc ^ (buf[i++] as number)) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** The snappy framing format's masked checksum: rotate right by 15, add 0xa282ead8. */
export function maskedCrc32c (buf: Uint8Array, start = 0, end = buf.length): number {
  const c = crc32c(buf, start, end)
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0
}
