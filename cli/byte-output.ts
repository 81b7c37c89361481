/**
 * A block's output, written as UTF-8 bytes line by line into one growing buffer. Encoding each line
 * while it is small and hot in the cache is what makes this fast: building the block as one string
 * and encoding it at the end flattened a rope of hundreds of verdicts (two-byte as soon as one holds
 * a "’") and then encoded megabytes from main memory: 17% of the time in an in-process profile.
 */
export class ByteOutput {
  private bytes: Buffer;
  private length = 0;

  /** Writes into `spare` when it holds `capacity` bytes. */
  constructor(capacity: number, spare?: ArrayBuffer) {
    // Not from Node's shared pool: the whole buffer can be transferred to another thread.
    this.bytes =
      spare !== undefined && spare.byteLength >= capacity
        ? Buffer.from(spare)
        : Buffer.allocUnsafeSlow(Math.max(1024, capacity));
  }

  /** Appends `text` as UTF-8; returns where it starts. */
  write(text: string): number {
    const at = this.length;
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 2 units, takes 4).
    this.reserve(text.length * 3);
    this.length += this.bytes.write(text, at);
    return at;
  }

  writeByte(byte: number): void {
    this.reserve(1);
    this.bytes[this.length++] = byte;
  }

  /** Replaces the (ASCII) byte at `at`, which was written already. */
  setByte(at: number, byte: number): void {
    this.bytes[at] = byte;
  }

  /** The bytes written; its buffer is this output's own, to transfer (the output is then unusable). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + more));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}
