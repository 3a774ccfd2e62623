// A lean FlatBuffers builder: the flatbuffers package's layout, byte for byte, at a fraction of the cost.

const ENCODER = new TextEncoder();

/** Strings up to this length are scanned and written as ASCII by hand (no TextEncoder call). */
const ASCII_LIMIT = 256;

/**
 * Builds one FlatBuffer back to front, like `Builder` of the `flatbuffers`
 * package and with the same output (same alignment, padding, vtable
 * sharing), but writing into a plain `Uint8Array` without the `ByteBuffer`
 * layer, and writing ASCII strings without a `TextEncoder` round trip (a
 * native call on every runtime, an op on Deno). Only what the codec needs:
 * tables of 8/16/32-bit scalars and offsets, strings, byte vectors and
 * vectors of tables.
 *
 * @example
 * ```ts
 * const b = new FlatBuilder();
 * const name = b.createString("say");
 * b.startObject(1);
 * b.addFieldOffset(0, name, 0);
 * b.finish(b.endObject());
 * b.asUint8Array(); // the finished FlatBuffer (a view, valid until the next clear())
 * ```
 */
export class FlatBuilder {
  #bytes: Uint8Array;
  /** Free bytes left at the front: the data lives in `#bytes[#space..]`. */
  #space: number;
  #minalign = 1;
  /** Field positions (offsets from the end) of the object being built; 0 = absent. */
  #vtable: number[] = [];
  #vtableInUse = 0;
  #isNested = false;
  #objectStart = 0;
  /** Positions (offsets from the end) of the vtables written so far, for sharing. */
  #vtables: number[] = [];
  #vectorNumElems = 0;
  /**
   * Scratch stack of table offsets for vectors of tables (`createTextEntries()`): a
   * nested use pushes above the outer one's base and pops back to it.
   */
  readonly offsets: number[] = [];

  /** Creates a builder with `initialSize` bytes; it grows by doubling. */
  constructor(initialSize = 1024) {
    this.#bytes = new Uint8Array(initialSize);
    this.#space = initialSize;
  }

  /** Bytes allocated now. */
  get capacity(): number {
    return this.#bytes.length;
  }

  /** Forgets everything built so far; keeps the memory. */
  clear(): void {
    this.#space = this.#bytes.length;
    this.#minalign = 1;
    this.#vtableInUse = 0;
    this.#isNested = false;
    this.#objectStart = 0;
    this.#vtables.length = 0;
    this.#vectorNumElems = 0;
  }

  /** Bytes written so far; also the offset (from the end) of the last thing written. */
  offset(): number {
    return this.#bytes.length - this.#space;
  }

  /** Aligns for an element of `size` bytes to be written after `additional` more bytes. */
  #prep(size: number, additional: number): void {
    if (size > this.#minalign) this.#minalign = size;
    const alignSize = (~(this.#bytes.length - this.#space + additional) + 1) & (size - 1);
    while (this.#space < alignSize + size + additional) this.#grow();
    const bytes = this.#bytes;
    for (let i = 0; i < alignSize; i++) bytes[--this.#space] = 0;
  }

  #grow(): void {
    const old = this.#bytes;
    if (old.length & 0xC0000000) throw new RangeError("FlatBuffer cannot grow beyond 2 GiB");
    const grown = new Uint8Array(old.length << 1);
    grown.set(old, grown.length - old.length);
    this.#space += grown.length - old.length;
    this.#bytes = grown;
  }

  #writeInt16(value: number): void {
    const p = (this.#space -= 2);
    const bytes = this.#bytes;
    bytes[p] = value;
    bytes[p + 1] = value >> 8;
  }

  #writeInt32(value: number): void {
    const p = (this.#space -= 4);
    const bytes = this.#bytes;
    bytes[p] = value;
    bytes[p + 1] = value >> 8;
    bytes[p + 2] = value >> 16;
    bytes[p + 3] = value >> 24;
  }

  /** Adds an aligned 8-bit value. */
  addInt8(value: number): void {
    this.#prep(1, 0);
    this.#bytes[--this.#space] = value;
  }

  /** Adds an aligned 16-bit value. */
  addInt16(value: number): void {
    this.#prep(2, 0);
    this.#writeInt16(value);
  }

  /** Adds an aligned 32-bit value. */
  addInt32(value: number): void {
    this.#prep(4, 0);
    this.#writeInt32(value);
  }

  /** Adds a uoffset pointing at `offset` (something written earlier). */
  addOffset(offset: number): void {
    this.#prep(4, 0);
    this.#writeInt32(this.offset() - offset + 4);
  }

  #slot(id: number): void {
    this.#vtable[id] = this.offset();
  }

  /** Field `id` of the current object as an 8-bit value, omitted when equal to `defaultValue`. */
  addFieldInt8(id: number, value: number, defaultValue: number): void {
    if (value === defaultValue) return;
    this.addInt8(value);
    this.#slot(id);
  }

  /** Field `id` as a 16-bit value, omitted when equal to `defaultValue`. */
  addFieldInt16(id: number, value: number, defaultValue: number): void {
    if (value === defaultValue) return;
    this.addInt16(value);
    this.#slot(id);
  }

  /** Field `id` as a 32-bit value, omitted when equal to `defaultValue`. */
  addFieldInt32(id: number, value: number, defaultValue: number): void {
    if (value === defaultValue) return;
    this.addInt32(value);
    this.#slot(id);
  }

  /** Field `id` as an offset to something written earlier, omitted when equal to `defaultValue`. */
  addFieldOffset(id: number, offset: number, defaultValue: number): void {
    if (offset === defaultValue) return;
    this.addOffset(offset);
    this.#slot(id);
  }

  /** Starts a table with room for `fields` fields. */
  startObject(fields: number): void {
    if (this.#isNested) throw new TypeError("FlatBuffer objects must not be nested");
    const vtable = this.#vtable;
    for (let i = 0; i < fields; i++) vtable[i] = 0;
    this.#vtableInUse = fields;
    this.#isNested = true;
    this.#objectStart = this.offset();
  }

  /** Ends the table: writes (or shares) its vtable and returns the table's offset. */
  endObject(): number {
    if (!this.#isNested) throw new TypeError("endObject() called without startObject()");
    this.addInt32(0);
    const vtableLoc = this.offset();
    const vtable = this.#vtable;
    let i = this.#vtableInUse - 1;
    while (i >= 0 && vtable[i] === 0) i--;
    const trimmedSize = i + 1;
    for (; i >= 0; i--) this.addInt16(vtable[i] !== 0 ? vtableLoc - vtable[i]! : 0);
    this.addInt16(vtableLoc - this.#objectStart);
    const len = (trimmedSize + 2) * 2;
    this.addInt16(len);

    // Share an identical vtable written before, as the flatbuffers Builder does.
    const bytes = this.#bytes;
    const capacity = bytes.length;
    const vt1 = this.#space;
    let existing = 0;
    const vtables = this.#vtables;
    outer: for (let v = 0; v < vtables.length; v++) {
      const vt2 = capacity - vtables[v]!;
      if (len !== (bytes[vt2]! | (bytes[vt2 + 1]! << 8))) continue;
      for (let j = 2; j < len; j++) {
        if (bytes[vt1 + j] !== bytes[vt2 + j]) continue outer;
      }
      existing = vtables[v]!;
      break;
    }
    if (existing !== 0) {
      this.#space = capacity - vtableLoc;
      this.#writeInt32At(this.#space, existing - vtableLoc);
    } else {
      vtables.push(this.offset());
      this.#writeInt32At(capacity - vtableLoc, this.offset() - vtableLoc);
    }
    this.#isNested = false;
    return vtableLoc;
  }

  #writeInt32At(p: number, value: number): void {
    const bytes = this.#bytes;
    bytes[p] = value;
    bytes[p + 1] = value >> 8;
    bytes[p + 2] = value >> 16;
    bytes[p + 3] = value >> 24;
  }

  /** Starts a vector of `count` elements of `elemSize` bytes; add them last to first. */
  startVector(elemSize: number, count: number, alignment: number): void {
    if (this.#isNested) throw new TypeError("FlatBuffer vectors must not be built inside a table");
    this.#vectorNumElems = count;
    this.#prep(4, elemSize * count);
    this.#prep(alignment, elemSize * count);
  }

  /** Ends the vector and returns its offset. */
  endVector(): number {
    this.#writeInt32(this.#vectorNumElems);
    return this.offset();
  }

  /** Writes a string (UTF-8, NUL-terminated) and returns its offset. */
  createString(s: string): number {
    const n = s.length;
    if (n <= ASCII_LIMIT) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7F) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.addInt8(0);
        this.startVector(1, n, 1);
        const start = (this.#space -= n);
        const bytes = this.#bytes;
        for (let i = 0; i < n; i++) bytes[start + i] = s.charCodeAt(i);
        return this.endVector();
      }
    }
    const utf8 = ENCODER.encode(s);
    this.addInt8(0);
    return this.createByteVector(utf8);
  }

  /** Writes a `[ubyte]` vector (one bulk copy) and returns its offset. */
  createByteVector(bytes: Uint8Array): number {
    const n = bytes.length;
    this.startVector(1, n, 1);
    const start = (this.#space -= n);
    _copy(bytes, 0, this.#bytes, start, n);
    return this.endVector();
  }

  /** Finishes the buffer with `root` as its root table. */
  finish(root: number): void {
    this.#prep(this.#minalign, 4);
    this.addOffset(root);
  }

  /** The finished FlatBuffer, as a view of the builder's memory (valid until the next clear()). */
  asUint8Array(): Uint8Array {
    return this.#bytes.subarray(this.#space);
  }

  /**
   * Hands out the finished FlatBuffer with `headroom` bytes before it, in the
   * builder's own memory (no copy); the builder must not be used afterwards.
   * `undefined` when there is not that much room in front.
   */
  detach(headroom: number): Uint8Array | undefined {
    if (this.#space < headroom) return undefined;
    const out = this.#bytes.subarray(this.#space - headroom);
    this.#bytes = new Uint8Array(0);
    this.#space = 0;
    return out;
  }

  /** Copies the finished FlatBuffer into `target` at `offset` (the caller sized it). */
  copyInto(target: Uint8Array, offset: number): void {
    const space = this.#space;
    _copy(this.#bytes, space, target, offset, this.#bytes.length - space);
  }

  /**
   * Copies the finished FlatBuffer out behind `headroom` free leading bytes,
   * into a fresh array the caller owns (one allocation, one copy).
   */
  copyOut(headroom: number): Uint8Array {
    const data = this.#bytes.subarray(this.#space);
    const out = new Uint8Array(headroom + data.length);
    out.set(data, headroom);
    return out;
  }
}

/** Below this many bytes a plain loop beats `set()` and the `subarray()` it would need. */
const COPY_LOOP_LIMIT = 32;

function _copy(from: Uint8Array, start: number, to: Uint8Array, at: number, n: number): void {
  if (n > COPY_LOOP_LIMIT) {
    to.set(start === 0 && n === from.length ? from : from.subarray(start, start + n), at);
    return;
  }
  for (let i = 0; i < n; i++) to[at + i] = from[start + i]!;
}
