// TableSource.g4: postmap and postalias input files as logical lines.
//
// The line rules are Postfix's (see ConfigLinesLexer.g4): a START line and
// the CONT lines after it form one logical line; comment and blank lines in
// between do not end it; indented lines before the first entry have nothing
// to continue (`stray`: Postfix warns and skips them). The lowering in
// compiler/table_source.cc splits each logical line into `key value`
// (postmap) or `name: value` (postalias, with quoted names).
parser grammar TableSource;

options { tokenVocab = ConfigLinesLexer; }

table   : skipped* stray? record* EOF ;
record  : START (CONT | skipped)* ;
stray   : CONT (CONT | skipped)* ;
skipped : BLANK | COMMENT ;
