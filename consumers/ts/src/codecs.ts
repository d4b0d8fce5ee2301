// LZ4 for kafkajs, which ships only gzip: the txfstream producer compresses with lz4
// (TXF_COMPRESSION, chosen by measurement), so without this codec kafkajs fails every
// fetch with "LZ4 compression not implemented". lz4js is a pure-JS implementation of
// the LZ4 frame format Kafka uses: no native build, nothing downloaded at install.
import kafkajs from "kafkajs";
import lz4 from "lz4js";

const { CompressionCodecs, CompressionTypes } = kafkajs;

export function registerCodecs(): void {
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
      return Buffer.from(lz4.compress(encoder.buffer));
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      return Buffer.from(lz4.decompress(buffer));
    },
  });
}
