// MasterCf.g4: master.cf as a sequence of logical lines, one service each.
//
// Same physical-line rules as main.cf (see ConfigLinesLexer.g4). Each joined
// logical line is then split into fields by MasterEntry.g4.
parser grammar MasterCf;

options { tokenVocab = ConfigLinesLexer; }

config  : skipped* stray? service* EOF ;
service : START (CONT | skipped)* ;
stray   : CONT (CONT | skipped)* ;
skipped : BLANK | COMMENT ;
