/** A frame of the relay's output, and whether it is an event (it has data) or only a comment or `retry:`. */
export type RelayedFrame = { frame: string; event: boolean };

/**
 * Splits relayed bytes into whole SSE frames (each ending in its blank line). The relay writes
 * whole frames, so the buffer is almost always empty between chunks; it is kept for safety.
 */
export function frameSplitter() {
  const decoder = new TextDecoder();
  let buffer = '';
  return (bytes: Uint8Array): RelayedFrame[] => {
    buffer += decoder.decode(bytes, { stream: true });
    const frames: RelayedFrame[] = [];
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end + 2);
      buffer = buffer.slice(end + 2);
      frames.push({ frame, event: frame.startsWith('data:') || frame.includes('\ndata:') });
    }
    return frames;
  };
}

/** An event as a client gets it: numbered with `id:` for EventSource, exactly as relayed for the others. */
export const renderEvent = (id: number, frame: string, withIds: boolean) =>
  withIds ? `id: ${id}\n${frame}` : frame;
