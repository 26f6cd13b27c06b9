// MainCf.g4: main.cf as a sequence of logical lines.
//
// A logical line is a START line plus every CONT line that follows it;
// comment and blank lines in between are skipped without ending it. CONT
// lines before the first START line have nothing to continue: Postfix warns
// "logical line must not start with whitespace" and ignores them (`stray`).
// Splitting a logical line into `name = value` happens in the lowering step
// (compiler/main_cf_parser.cc), which tracks source columns.
parser grammar MainCf;

options { tokenVocab = ConfigLinesLexer; }

config : skipped* stray? entry* EOF ;
entry  : START (CONT | skipped)* ;
stray  : CONT (CONT | skipped)* ;
skipped : BLANK | COMMENT ;
