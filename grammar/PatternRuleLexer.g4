// PatternRuleLexer.g4: the tokens of one logical line of a regexp: or pcre: table.
//
// Physical lines, comments and continuation lines are handled first by
// ConfigLinesLexer.g4 (as for every table source); this grammar reads one
// logical line. A rule is `[!...]DpatternD[flags] [result]` with any
// delimiter D; `if [!...]DpatternD[flags]` opens a block and `endif` closes it
// (both case-insensitive, and a keyword only when no letter or digit
// follows). At the start of a line a letter or digit cannot be a
// delimiter (the line is an unrecognized request); after `if` or `!` any
// character can be. Inside the pattern a backslash protects the next
// character (including the delimiter); pattern characters are skipped, so
// the parser sees OPEN and CLOSE and the pattern is the text between them.
lexer grammar PatternRuleLexer;

tokens { CLOSE }

@lexer::members {
  size_t delimiter_ = 0;
}

WS    : [ \t\r\n\f\u000B]+ ;
IF    : [iI][fF] -> mode(AFTER_PREFIX) ;
ENDIF : [eE][nN][dD][iI][fF] -> mode(TRAILER) ;
BANG  : '!' -> mode(AFTER_PREFIX) ;
// A letter or digit first: not a rule (longest match keeps "iffy" a WORD).
WORD  : [a-zA-Z0-9]+ -> mode(TRAILER) ;
OPEN  : ~[a-zA-Z0-9 \t\r\n\f\u000B!] { delimiter_ = _input->LA(-1); } -> pushMode(PATTERN) ;

mode AFTER_PREFIX;
PWS   : [ \t\r\n\f\u000B]+ -> type(WS) ;
PBANG : '!' -> type(BANG) ;
POPEN : ~[ \t\r\n\f\u000B!] { delimiter_ = _input->LA(-1); } -> type(OPEN), pushMode(PATTERN) ;

mode PATTERN;
ESCAPED : '\\' . -> skip ;
PCHAR   : . {
  if (_input->LA(-1) == delimiter_) {
    setType(CLOSE);
    setMode(FLAGS_MODE);
  } else {
    skip();
  }
} ;

mode FLAGS_MODE;
FLAGS : ~[ \t\r\n\f\u000B]+ ;
FWS   : [ \t\r\n\f\u000B]+ -> type(WS), mode(TRAILER) ;

mode TRAILER;
TWS    : [ \t\r\n\f\u000B]+ -> type(WS) ;
RESULT : ~[ \t\r\n\f\u000B] [\u0000-\u00FF]* ;   // input is bytes (antlr_input.h)
