/**
 * Opaque "resume after this id" cursors for stores that list in id order. The prefix names the
 * store kind and format version, so a cursor from another store is refused (`invalid_input`) rather
 * than silently misread, and a forged cursor can only name an id, which listing then skips past.
 */
import { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from '../util/bytes.js';
import { InvalidInputError } from './errors.js';
import { assertSessionId } from './validate.js';

export interface IdCursorCodec {
  encode(lastId: string): string;
  decode(cursor: unknown): string;
}

export function idCursor(prefix: string): IdCursorCodec {
  return {
    encode: (lastId) => prefix + base64urlEncode(utf8Encode(lastId)),
    decode(cursor) {
      if (typeof cursor === 'string' && cursor.startsWith(prefix)) {
        const bytes = base64urlDecode(cursor.slice(prefix.length));
        const id = bytes === undefined ? undefined : utf8Decode(bytes);
        try {
          assertSessionId(id);
          return id;
        } catch {
          // fall through to the single error below
        }
      }
      throw new InvalidInputError('cursor is not one this store issued');
    },
  };
}
