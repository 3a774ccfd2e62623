// The bytes a socket pushed and nobody took yet: chunks kept as pushed, handed out as views when they can be.

/**
 * A queue of received byte ranges. Chunks are kept as pushed, never copied on
 * the way in (the source must never overwrite a pushed range); bytes that one
 * chunk holds are handed out as a view of it, bytes spanning chunks are
 * assembled into a fresh array.
 *
 * @example
 * ```ts
 * const queue = new ChunkQueue();
 * queue.push(new Uint8Array([1, 2, 3]), 0, 3);
 * queue.take(2); // Uint8Array [1, 2], a view of the pushed array
 * queue.length; // 1
 * ```
 */
export class ChunkQueue {
  /** Buffered chunks: bytes `#starts[i]..#ends[i]` of `#chunks[i]`, live from `#head` to `#tail`. */
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #ends: number[] = [];
  #head = 0;
  #tail = 0;
  /** Position of the first unread byte in `#chunks[#head]`. */
  #offset = 0;
  #length = 0;

  /** Bytes pushed and not taken. */
  get length(): number {
    return this.#length;
  }

  /** Appends bytes `start..end` of `bytes`, a range the source will never overwrite. */
  push(bytes: Uint8Array, start: number, end: number): void {
    const tail = this.#tail;
    if (this.#head === tail) this.#offset = start;
    this.#chunks[tail] = bytes;
    this.#starts[tail] = start;
    this.#ends[tail] = end;
    this.#tail = tail + 1;
    this.#length += end - start;
  }

  /** The byte at `index` from the front (the caller checked `index < length`). */
  byteAt(index: number): number {
    let i = this.#head;
    let at = this.#offset + index;
    while (at >= this.#ends[i]!) {
      at -= this.#ends[i]!;
      i++;
      at += this.#starts[i]!;
    }
    return this.#chunks[i]![at]!;
  }

  /**
   * The first four bytes as a big-endian unsigned number (the caller checked
   * `length >= 4`): a frame header, read straight from the head chunk when it holds them.
   */
  peekUint32(): number {
    const head = this.#head;
    const at = this.#offset;
    if (this.#ends[head]! - at >= 4) {
      const chunk = this.#chunks[head]!;
      return ((chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) |
        chunk[at + 3]!) >>>
        0;
    }
    return ((this.byteAt(0) << 24) | (this.byteAt(1) << 16) | (this.byteAt(2) << 8) |
      this.byteAt(3)) >>> 0;
  }

  /** Drops `size` bytes from the front (the caller checked `length >= size`). */
  skip(size: number): void {
    this.#length -= size;
    while (size > 0) {
      const available = this.#ends[this.#head]! - this.#offset;
      if (available > size) {
        this.#offset += size;
        return;
      }
      size -= available;
      this.#shift();
    }
  }

  /** Removes `size` bytes from the front (the caller checked `length >= size`). */
  take(size: number): Uint8Array {
    this.#length -= size;
    const head = this.#head;
    const first = this.#chunks[head]!;
    const start = this.#offset;
    const end = this.#ends[head]!;
    if (end - start >= size) {
      // One chunk holds it all: hand out a view.
      if (end - start === size) {
        this.#shift();
        return start === 0 && end === first.byteLength ? first : first.subarray(start, end);
      }
      this.#offset = start + size;
      return first.subarray(start, start + size);
    }
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      // Re-read the fields: #shift() may have compacted the arrays.
      const chunk = this.#chunks[this.#head]!;
      const from = this.#offset;
      const to = this.#ends[this.#head]!;
      const n = Math.min(to - from, size - filled);
      out.set(
        from === 0 && n === chunk.byteLength ? chunk : chunk.subarray(from, from + n),
        filled,
      );
      filled += n;
      if (from + n === to) this.#shift();
      else this.#offset = from + n;
    }
    return out;
  }

  /** Forgets every byte. */
  clear(): void {
    this.#chunks = [];
    this.#starts = [];
    this.#ends = [];
    this.#head =
      this.#tail =
      this.#offset =
      this.#length =
        0;
  }

  #shift(): void {
    const chunks = this.#chunks;
    chunks[this.#head] = _EMPTY;
    const head = this.#head + 1;
    const tail = this.#tail;
    if (head === tail) {
      // Empty again: start over at index 0, keeping the arrays unless a burst made them big.
      if (tail > 1024) {
        this.#chunks = [];
        this.#starts = [];
        this.#ends = [];
      }
      this.#head = this.#tail = this.#offset = 0;
      return;
    }
    this.#head = head;
    this.#offset = this.#starts[head]!;
    if (head >= 1024 && head * 2 >= tail) {
      this.#chunks = chunks.slice(head, tail);
      this.#starts = this.#starts.slice(head, tail);
      this.#ends = this.#ends.slice(head, tail);
      this.#head = 0;
      this.#tail = tail - head;
    }
  }
}

const _EMPTY = new Uint8Array(0);
