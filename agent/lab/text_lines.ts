/** The non-empty lines of a byte stream (a child process's stdout), as they arrive. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (
    const chunk of stream.pipeThrough(
      new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>,
    )
  ) {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield line;
    }
  }
  if (buffered.trim()) yield buffered.trim();
}
