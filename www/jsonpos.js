// Where a member of a JSON text is: the API names a bad field by its path
// ("vdus[0].vcpu"); this finds the line of the text it is on, so that the
// console shows the error at the field it concerns.

// Returns {start, end, line} of the value at path (or of the deepest part
// of the path that exists), or null when the text does not parse.
export function locate(text, path) {
  const want = splitPath(path);
  const spots = new Map();
  try {
    parseValue(text, skip(text, 0), [], spots);
  } catch {
    return null;
  }
  for (let n = want.length; n >= 0; n--) {
    const key = want.slice(0, n).join('\u0000');
    if (spots.has(key)) {
      const [start, end] = spots.get(key);
      return {start, end, line: text.slice(0, start).split('\n').length};
    }
  }
  return null;
}

// "vdus[0].vcpu" -> ["vdus", "0", "vcpu"]
export function splitPath(path) {
  return String(path || '').split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
}

function skip(t, i) {
  while (i < t.length && ' \t\r\n'.includes(t[i])) i++;
  return i;
}

function parseString(t, i) {
  let j = i + 1;
  while (j < t.length && t[j] !== '"') j += t[j] === '\\' ? 2 : 1;
  if (j >= t.length) throw new Error('string');
  return [JSON.parse(t.slice(i, j + 1)), j + 1];
}

// Parses the value at i, recording [start, end) of each member and item
// (for a member: from its key) under its path; returns the end.
function parseValue(t, i, path, spots) {
  const c = t[i];
  if (c === '{' || c === '[') {
    const obj = c === '{';
    let j = skip(t, i + 1), n = 0;
    if (t[j] === (obj ? '}' : ']')) return j + 1;
    for (;;) {
      let key = String(n++), start = j;
      if (obj) {
        if (t[j] !== '"') throw new Error('key');
        [key, j] = parseString(t, j);
        j = skip(t, j);
        if (t[j] !== ':') throw new Error(':');
        j = skip(t, j + 1);
      }
      const sub = [...path, key];
      const end = parseValue(t, j, sub, spots);
      spots.set(sub.join('\u0000'), [start, end]);
      j = skip(t, end);
      if (t[j] === ',') { j = skip(t, j + 1); continue; }
      if (t[j] === (obj ? '}' : ']')) return j + 1;
      throw new Error('separator');
    }
  }
  if (c === '"') return parseString(t, i)[1];
  const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(t.slice(i, i + 64));
  if (!m) throw new Error('value');
  return i + m[0].length;
}
