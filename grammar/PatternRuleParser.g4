// PatternRuleParser.g4: the structure of one logical line of a regexp: or pcre: table.
//
// Deliberately permissive: every line parses, and compiler/regexp_table.cc
// words Postfix's warning for what is missing or extra (no closing
// delimiter, no pattern after `if`, text after `endif`, ...), so a broken
// line is reported exactly as Postfix reports it, at its line and column.
parser grammar PatternRuleParser;

options { tokenVocab = PatternRuleLexer; }

line         : WS? (endifLine | ifLine | ruleLine | unrecognized) WS? EOF ;
endifLine    : ENDIF (WS? RESULT)? ;
ifLine       : IF WS? negation pattern? (WS? RESULT)? ;
ruleLine     : negation pattern (WS? RESULT)? | negation ;
unrecognized : WORD (WS? RESULT)? ;
negation     : (BANG WS?)* ;
pattern      : OPEN CLOSE? FLAGS? ;
