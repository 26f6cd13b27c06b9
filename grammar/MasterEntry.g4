// MasterEntry.g4: the fields of one master.cf service (one logical line).
//
// Fields are separated by whitespace. Braces group: `{ ... }` (balanced, may
// nest) is part of the word it appears in, so `-o { name = value with blanks }`
// and `inline:{ {a = b}, c=d }` stay one word. Fields 1-7 are service, type,
// private, unpriv, chroot, wakeup, maxproc; the 8th word is the command and
// the rest are its arguments. Field-count and field-value rules are checked
// in compiler/master_cf_parser.cc so they can be reported with codes.
grammar MasterEntry;

entry : WS? (word (WS word)*)? WS? EOF ;
word  : WORD ;

WORD : (PLAIN | GROUP)+ ;
WS   : [ \t\r\n\f\u000B]+ ;
// An unbalanced brace is the only thing that can fail to lex.
UNBALANCED : [{}] ;

fragment PLAIN : ~[ \t\r\n\f\u000B{}] ;
fragment GROUP : '{' (GROUP | ~[{}])* '}' ;
