/**
 * render: a text builder for the big generated files. Writing bytes into one growing buffer
 * and making a single string at the end costs about a third of building a string per line
 * and joining them (0.3 s for the rules of 320k real servers): no line strings, no number
 * strings, no join. ASCII only: a caller that might write anything else checks `ascii` and
 * renders the plain way.
 */
import { Buffer } from "node:buffer";

/** Where a renderer writes its text: an AsciiWriter for a big file, a StringSink for one line. */
export interface TextSink {
  text(s: string): void;
  /** a number as String(n) prints it */
  number(n: number): void;
}

/** A TextSink that builds one string (a single command line). */
export class StringSink implements TextSink {
  value = "";

  text(s: string): void {
    this.value += s;
  }

  number(n: number): void {
    this.value += String(n);
  }
}

export class AsciiWriter implements TextSink {
  private buf: Buffer;
  private at = 0;
  /** every character code written, or-ed: above 127 means a character this writer cannot hold */
  private codes = 0;

  constructor(sizeHint = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, sizeHint));
  }

  /** Only ASCII was written: finish() is the text. */
  get ascii(): boolean {
    return this.codes < 128;
  }

  private room(n: number): Buffer {
    if (this.at + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
      this.buf.copy(grown, 0, 0, this.at);
      this.buf = grown;
    }
    return this.buf;
  }

  text(s: string): void {
    const n = s.length;
    const b = this.room(n);
    let at = this.at, codes = this.codes;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      codes |= c;
      b[at++] = c;
    }
    this.at = at;
    this.codes = codes;
  }

  /** A number as String(n) prints it; non-negative integers without making that string. */
  number(n: number): void {
    if (!(n >= 0 && n <= 0xffffffff && Number.isInteger(n))) {
      this.text(String(n));
      return;
    }
    const b = this.room(10);
    if (n < 10) {
      b[this.at++] = 48 + n;
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let at = this.at + digits;
    this.at = at;
    for (let x = n; digits-- > 0; x = Math.floor(x / 10)) b[--at] = 48 + (x % 10);
  }

  /** The text written so far. */
  finish(): string {
    return this.buf.toString("latin1", 0, this.at);
  }
}
