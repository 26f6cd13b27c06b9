// ConfigLinesLexer.g4: the physical-line structure shared by main.cf and master.cf.
//
// Every token is one whole physical line including its newline (the parse
// wrapper appends a newline to input that lacks one). What a line is decides
// how Postfix joins lines into logical lines:
//   START    a line whose first character is not whitespace and not '#':
//            it begins a new logical line
//   CONT     whitespace, then something that is not '#': glued onto the
//            logical line before it
//   COMMENT  optional whitespace then '#': dropped, does not end a logical line
//   BLANK    empty or whitespace only: dropped, does not end a logical line
// A carriage return counts as whitespace, as it does for Postfix.
lexer grammar ConfigLinesLexer;

BLANK   : [ \t\r\f\u000B]* '\n' ;
COMMENT : [ \t\r\f\u000B]* '#' ~[\n]* '\n' ;
CONT    : [ \t\r\f\u000B]+ ~[ \t\r\f\u000B\n#] ~[\n]* '\n' ;
START   : ~[ \t\r\f\u000B\n#] ~[\n]* '\n' ;
