// Decodes a pprof profile (gzip-compressed or raw protobuf) into the model in model.ts.
// A hand-written reader of profile.proto over the raw bytes: it reads only the fields memlens
// uses and writes samples straight into typed arrays, with no object per sample, line or id.
// Profiles of real services hold hundreds of thousands of samples; a general protobuf decode
// of them costs seconds and hundreds of MiB, this one a fraction of both.
import { gunzipSync } from "node:zlib";
import { ProfileFormatError } from "./errors.js";
import type { IdIndex } from "./ids.js";
import type { Profile, ProfileSamples } from "./model.js";
import { ProtoReader } from "./proto.js";
import { SAMPLE_TAG, SampleReader, undefinedLocation, valueCount } from "./sample.js";
import { ProfileTables } from "./tables.js";
import { checkWireFormat } from "./wire.js";

/** Decodes gzip-compressed or raw pprof bytes. Throws ProfileFormatError when they are not a valid profile. */
export function decodeProfile(data: Uint8Array): Profile {
  const raw = isGzip(data) ? gunzip(data) : data;
  if (raw.length === 0) throw new ProfileFormatError("empty file, not a pprof profile");
  try {
    checkWireFormat(raw);
  } catch (err) {
    throw new ProfileFormatError(`not a pprof profile (${messageOf(err)})`);
  }
  return new Decoder(raw).profile();
}

function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

function gunzip(data: Uint8Array): Uint8Array {
  try {
    return gunzipSync(data);
  } catch (err) {
    throw new ProfileFormatError(`truncated or corrupt gzip data (${messageOf(err)})`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Byte ranges of one repeated message field, collected in the first pass. */
class Ranges {
  starts: Int32Array = new Int32Array(64);
  ends: Int32Array = new Int32Array(64);
  count = 0;

  push(start: number, end: number): void {
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }
}

class Decoder {
  private readonly r: ProtoReader;

  constructor(private readonly buf: Uint8Array) {
    this.r = new ProtoReader(buf);
  }

  profile(): Profile {
    // Pass 1: every table now, the ranges of the samples for later (they refer to locations,
    // which a writer may put after them: pprof's own writer does).
    const r = this.r;
    const tables = new ProfileTables();
    const samples = new Ranges();
    const end = this.buf.length;
    r.pos = 0;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === SAMPLE_TAG) {
        const len = r.varint();
        samples.push(r.pos, r.pos + len);
        r.pos += len;
      } else tables.read(r, tag >>> 3, tag & 7);
    }
    const t = tables.resolve();
    return {
      sampleTypes: t.sampleTypes,
      defaultSampleType: t.defaultSampleType,
      frameNames: t.frameNames,
      locations: t.locations,
      samples: this.samples(samples, t.sampleTypes.length, t.locationIndex),
      info: t.info,
    };
  }

  /** Pass 2 over the samples: the stacks' total length first, so every array is allocated once. */
  private samples(ranges: Ranges, types: number, locationIndex: IdIndex): ProfileSamples {
    const r = this.r;
    const buf = this.buf;
    let total = 0;
    for (let i = 0; i < ranges.count; i++) {
      r.pos = ranges.starts[i] ?? 0;
      const end = ranges.ends[i] ?? 0;
      while (r.pos < end) {
        const tag = r.varint();
        if (tag === 0x0a) {
          // packed location ids: one varint ends at each byte below 0x80
          const len = r.varint();
          const stop = r.pos + len;
          for (let j = r.pos; j < stop; j++) if ((buf[j] ?? 0) < 0x80) total++;
          r.pos = stop;
        } else if (tag === 0x08) {
          r.varint();
          total++;
        } else r.skip(tag & 7);
      }
    }

    const count = ranges.count;
    const stackStart = new Int32Array(count + 1);
    const stacks = new Int32Array(total);
    const values = new Float64Array(count * types);
    const reader = new SampleReader(r);
    let at = 0;
    for (let i = 0; i < count; i++) {
      stackStart[i] = at;
      at = reader.read(
        ranges.starts[i] ?? 0,
        ranges.ends[i] ?? 0,
        locationIndex,
        stacks,
        at,
        values,
        i * types,
        types,
      );
      // (MALFORMED is not read here: checkWireFormat has rejected such bytes.)
      if (at < 0) throw undefinedLocation(i, reader.missing);
      if (reader.values !== types) throw valueCount(i, reader.values, types);
    }
    stackStart[count] = at;
    return { count, stackStart, stacks, values, baseFrom: count };
  }
}
