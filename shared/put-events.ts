/**
 * EventBridge PutEvents limits, and how entries are cut into calls: one rule for the forwarder's
 * shipper, the pipeline's publisher and local mode.
 *
 * A call takes at most 10 entries whose sizes total less than 256 KB. The size of an entry is
 * EventBridge's documented calculation ("Calculating PutEvents event entry size"): the UTF-8 bytes of
 * Source and DetailType, of Detail and of each of the Resources when given, and 14 bytes for Time
 * when given. EventBusName does not count.
 *
 * Pure: no AWS SDK import (the fields are the SDK's `PutEventsRequestEntry` names).
 */

export const PUT_EVENTS_MAX_ENTRIES = 10;
/** The entries of one call total less than this many bytes. */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
/** What a given Time counts, whatever its value. */
export const PUT_EVENTS_TIME_BYTES = 14;

export interface PutEventsEntryFields {
  Source?: string | undefined;
  DetailType?: string | undefined;
  Detail?: string | undefined;
  Resources?: readonly string[] | undefined;
  Time?: Date | undefined;
  /** Does not count toward the size. */
  EventBusName?: string | undefined;
}

/** UTF-8 bytes of a string (a lone surrogate counts as U+FFFD's 3 bytes, as an encoder writes it). */
export const utf8Bytes = (text: string): number => {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
};

/** The entry's size as EventBridge counts it toward the call's limit. */
export const putEventsEntrySize = (entry: PutEventsEntryFields): number =>
  (entry.Time === undefined ? 0 : PUT_EVENTS_TIME_BYTES) +
  utf8Bytes(entry.Source ?? '') +
  utf8Bytes(entry.DetailType ?? '') +
  utf8Bytes(entry.Detail ?? '') +
  (entry.Resources ?? []).reduce((sum, resource) => sum + utf8Bytes(resource), 0);

/** Whether an entry of `size` bytes may join a call that holds `count` entries totalling `bytes`. */
export const fitsInCall = (count: number, bytes: number, size: number): boolean =>
  count < PUT_EVENTS_MAX_ENTRIES && bytes + size < PUT_EVENTS_MAX_BYTES;

/**
 * The entries, in order, cut into calls. An entry too large for any call gets a call of its own
 * (EventBridge then refuses that entry alone, and the caller sees its error).
 */
export const chunkPutEvents = <T>(entries: readonly T[], sizeOf: (entry: T) => number): T[][] => {
  const calls: T[][] = [];
  let call: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (call.length > 0 && !fitsInCall(call.length, bytes, size)) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(entry);
    bytes += size;
  }
  if (call.length > 0) calls.push(call);
  return calls;
};
