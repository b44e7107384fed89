// Keeps secrets out of what Arca prints, logs and stores in manifests: the
// password part of any URL (`scheme://user:secret@host`) and `password=…`
// connection-string fields become `***`.

export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:@/\s?#]*):[^@\s/]*@/gi, '$1:***@')
    .replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
}
