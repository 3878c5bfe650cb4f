/** Header values are ByteStrings: anything outside Latin-1 would make `Headers` throw. */
export function latin1Safe(value: string): string {
  return /[\u0100-\uffff]/.test(value) ? encodeURIComponent(value) : value;
}
