/** CRC-32C (Castagnoli), the checksum etcd's WAL and ext4 use; table-driven, slicing by 4. */

const POLY = 0x82f63b78;
const T = new Uint32Array(4 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c >>> 0;
}
for (let n = 0; n < 256; n++) {
  let c = T[n] as number;
  for (let t = 1; t < 4; t++) {
    c = (T[c & 0xff] as number) ^ (c >>> 8);
    T[t * 256 + n] = c >>> 0;
  }
}

export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffffffff;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    c =
      (T[768 + (c & 0xff)] as number) ^
      (T[512 + ((c >>> 8) & 0xff)] as number) ^
      (T[256 + ((c >>> 16) & 0xff)] as number) ^
      (T[(c >>> 24) & 0xff] as number);
  }
  for (; i < end; i++) c = (T[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
