// smtp_command_test.cc: SMTP command parsing, Postfix's tolerances and the
// replies it gives for bad commands.
#include "runtime/smtp_command.h"

#include "tables/casefold.h"

#include <gtest/gtest.h>

namespace posthaste::runtime {
namespace {

ParsedSmtpCommand Parse(std::string_view line, SmtpCommandOptions options = {}) {
  return ParseSmtpCommand(line, options);
}

SmtpCommandOptions Strict() {
  SmtpCommandOptions o;
  o.strict_rfc821_envelopes = true;
  return o;
}

TEST(SmtpCommand, EhloAndHeloTakeTheHostname) {
  auto p = Parse("EHLO client.example.com");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.verb, SmtpVerb::kEhlo);
  EXPECT_EQ(p.command.argument, "client.example.com");
  p = Parse("helo [192.0.2.1]");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.verb, SmtpVerb::kHelo);
  EXPECT_EQ(p.command.argument, "[192.0.2.1]");
  EXPECT_EQ(p.command.verb_text, "helo");
}

TEST(SmtpCommand, HeloWordsAreJoinedWithOneSpace) {
  auto p = Parse("HELO  my   host\t name ");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.argument, "my host name");
}

TEST(SmtpCommand, HeloWithoutHostnameIsASyntaxError) {
  EXPECT_EQ(Parse("EHLO").reply, "501 Syntax: EHLO hostname");
  EXPECT_EQ(Parse("HELO   ").reply, "501 Syntax: HELO hostname");
}

TEST(SmtpCommand, MailFromWithAngleBrackets) {
  auto p = Parse("MAIL FROM:<user@example.com>");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.verb, SmtpVerb::kMail);
  EXPECT_EQ(p.command.address, "user@example.com");
  EXPECT_FALSE(p.command.size.has_value());
  EXPECT_EQ(p.command.body, SmtpBody::kUnspecified);
}

TEST(SmtpCommand, VerbsAndKeywordsIgnoreCase) {
  auto p = Parse("mail from:<a@example.com>");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.address, "a@example.com");
  p = Parse("rCpT tO:<b@example.com>");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.verb, SmtpVerb::kRcpt);
}

TEST(SmtpCommand, SpacesAfterTheColonAreTolerated) {
  for (auto options : {SmtpCommandOptions{}, Strict()}) {
    auto p = Parse("MAIL FROM:   <user@example.com>", options);
    ASSERT_TRUE(p.ok()) << p.reply;
    EXPECT_EQ(p.command.address, "user@example.com");
  }
}

TEST(SmtpCommand, NullSender) {
  auto p = Parse("MAIL FROM:<>");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.address, "");
  EXPECT_TRUE(Parse("MAIL FROM:<>", Strict()).ok());
}

TEST(SmtpCommand, AddressWithoutBracketsOnlyWhenNotStrict) {
  auto p = Parse("MAIL FROM:user@example.com");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.address, "user@example.com");
  EXPECT_EQ(Parse("MAIL FROM:user@example.com", Strict()).reply,
            "501 5.1.7 Bad sender address syntax");
  EXPECT_EQ(Parse("RCPT TO:user@example.com", Strict()).reply,
            "501 5.1.3 Bad recipient address syntax");
  p = Parse("RCPT TO: user@example.com");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.address, "user@example.com");
}

TEST(SmtpCommand, PhraseAroundTheAddressOnlyWhenNotStrict) {
  auto p = Parse("MAIL FROM:Someone<user@example.com>");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.address, "user@example.com");
  EXPECT_FALSE(Parse("MAIL FROM:Someone<user@example.com>", Strict()).ok());
}

TEST(SmtpCommand, SourceRouteIsStripped) {
  auto p = Parse("RCPT TO:<@relay1.example,@relay2.example:user@example.com>");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.address, "user@example.com");
  // What is left without a local part is an empty local part at the domain,
  // as a live Postfix 3.7.11 accepts it (and logs ""@relay.example).
  auto bare = Parse("RCPT TO:<@relay.example>");
  ASSERT_TRUE(bare.ok()) << bare.reply;
  EXPECT_EQ(bare.command.address, "@relay.example");
  auto routed = Parse("MAIL FROM:<@a.example,@b.example:@example.com>");
  ASSERT_TRUE(routed.ok()) << routed.reply;
  EXPECT_EQ(routed.command.address, "@example.com");
  EXPECT_EQ(Parse("RCPT TO:<@>").reply, "501 5.1.3 Bad recipient address syntax");
  EXPECT_EQ(Parse("RCPT TO:<@relay.example:>").reply, "501 5.1.3 Bad recipient address syntax");
}

TEST(SmtpCommand, QuotedLocalPartIsUnquoted) {
  auto p = Parse("RCPT TO:<\"john doe\"@example.com>");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.address, "john doe@example.com");
  p = Parse("MAIL FROM:<\"a\\\"b\"@example.com> SIZE=10");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.address, "a\"b@example.com");
  EXPECT_EQ(p.command.size, 10u);
}

TEST(SmtpCommand, PostmasterWithoutDomain) {
  auto p = Parse("RCPT TO:<postmaster>");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.address, "postmaster");
  EXPECT_TRUE(Parse("RCPT TO:<Postmaster>", Strict()).ok());
}

TEST(SmtpCommand, MailSyntaxErrors) {
  const std::string_view kSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>";
  EXPECT_EQ(Parse("MAIL").reply, kSyntax);
  EXPECT_EQ(Parse("MAIL FROM:").reply, kSyntax);
  EXPECT_EQ(Parse("MAIL FROM:   ").reply, kSyntax);
  EXPECT_EQ(Parse("MAIL FROM :<a@example.com>").reply, kSyntax);
  EXPECT_EQ(Parse("MAIL TO:<a@example.com>").reply, kSyntax);
  EXPECT_EQ(Parse("MAIL <a@example.com>").reply, kSyntax);
  EXPECT_EQ(Parse("RCPT FROM:<a@example.com>").reply, "501 5.5.4 Syntax: RCPT TO:<address>");
  EXPECT_EQ(Parse("RCPT").reply, "501 5.5.4 Syntax: RCPT TO:<address>");
}

TEST(SmtpCommand, BadAddresses) {
  const std::string_view kSender = "501 5.1.7 Bad sender address syntax";
  const std::string_view kRcpt = "501 5.1.3 Bad recipient address syntax";
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com").reply, kSender);
  EXPECT_EQ(Parse("MAIL FROM:<<a@example.com>").reply, kSender);
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com>x").reply, kSender);
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com>:").reply, kSender);
  EXPECT_EQ(Parse("MAIL FROM:<a@exa..mple.com>").reply, kSender);
  EXPECT_EQ(Parse("MAIL FROM:<\"unterminated@example.com>").reply, kSender);
  EXPECT_EQ(Parse("RCPT TO:<>").reply, kRcpt);
  EXPECT_EQ(Parse("RCPT TO:<user@>").reply, kRcpt);
  EXPECT_EQ(Parse("RCPT TO:<@>").reply, kRcpt);
  EXPECT_EQ(Parse("RCPT TO:<user@-bad.example>").reply, kRcpt);
  EXPECT_EQ(Parse("RCPT TO:<user@192.0.2.1>").reply, kRcpt);
  EXPECT_EQ(Parse("RCPT TO:<user@[192.0.2.256]>").reply, kRcpt);
  EXPECT_EQ(Parse("RCPT TO:<us(er@example.com>").reply, kRcpt);
}

// What a live Postfix 3.7.11 accepts around and inside the brackets (its
// RFC 822 parser drops blanks and comments, tolerates a phrase, extra '>'
// and list separators), each with the address it logged.
TEST(SmtpCommand, LenientAddressFormsAsPostfix) {
  for (auto [line, address] : std::vector<std::pair<std::string, std::string>>{
           {"MAIL FROM:<a@example.com>>", "a@example.com"},
           {"MAIL FROM:a@example.com>", "a@example.com"},
           {"MAIL FROM:<<a@example.com>>", "a@example.com"},
           {"MAIL FROM:< a@example.com>", "a@example.com"},
           {"MAIL FROM:<a@example.com > SIZE=10", "a@example.com"},
           {"MAIL FROM:<a(note)@example.com>", "a@example.com"},
           {"MAIL FROM:<a\\ b@example.com>", "a b@example.com"},
           {"MAIL FROM:x<a@example.com>", "a@example.com"},
           {"MAIL FROM:\"Joe\"<a@example.com>", "a@example.com"},
           {"MAIL FROM:<a@example.com>,", "a@example.com"},
           {"MAIL FROM:<a@example.com>;", "a@example.com"},
           {"MAIL FROM:<a@example.com>(comment)", "a@example.com"},
           {"MAIL FROM:<\"\">", ""},
       }) {
    auto p = Parse(line);
    EXPECT_TRUE(p.ok()) << line << ": " << p.reply;
    EXPECT_EQ(p.command.address, address) << line;
  }
  EXPECT_EQ(Parse("RCPT TO:<\"\">").reply, "501 5.1.3 Bad recipient address syntax");
  EXPECT_EQ(Parse("VRFY a b c").reply, "501 5.1.3 Bad recipient address syntax");
  // Blanks only at the ends of the bracketed address.
  EXPECT_EQ(Parse("MAIL FROM:<a b@example.com>").reply, "501 5.1.7 Bad sender address syntax");
}

TEST(SmtpCommand, AddressLiterals) {
  auto p = Parse("RCPT TO:<user@[192.0.2.1]>");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.address, "user@[192.0.2.1]");
  EXPECT_TRUE(Parse("RCPT TO:<user@[IPv6:2001:db8::1]>").ok());
  EXPECT_FALSE(Parse("RCPT TO:<user@[IPv6:2001:db8::g]>").ok());
  EXPECT_TRUE(Parse("RCPT TO:<user@example.com.>").ok());
}

TEST(SmtpCommand, MailParameters) {
  auto p = Parse("MAIL FROM:<a@example.com> SIZE=12345 BODY=8BITMIME");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.size, 12345u);
  EXPECT_EQ(p.command.body, SmtpBody::k8BitMime);
  p = Parse("MAIL FROM:<a@example.com> body=7bit size=0");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.body, SmtpBody::k7Bit);
  EXPECT_EQ(p.command.size, 0u);
}

TEST(SmtpCommand, BadMailParameters) {
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> SIZE=12k").reply, "501 5.5.4 Bad message size syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> SIZE=").reply, "501 5.5.4 Bad message size syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> SIZE=99999999999999999999999").reply,
            "501 5.5.4 Bad message size syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> BODY=BINARYMIME").reply,
            "555 5.5.4 Unsupported option: BODY=BINARYMIME");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> XYZ=1").reply, "555 5.5.4 Unsupported option: XYZ=1");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> <b@example.com>").reply,
            "555 5.5.4 Unsupported option: <b@example.com>");
  EXPECT_EQ(Parse("RCPT TO:<a@example.com> FOO=1").reply, "555 5.5.4 Unsupported option: FOO=1");
  // With DSN left out of the EHLO keywords, its parameters are unknown.
  SmtpCommandOptions no_dsn;
  no_dsn.dsn_enable = false;
  EXPECT_EQ(Parse("RCPT TO:<a@example.com> NOTIFY=NEVER", no_dsn).reply,
            "555 5.5.4 Unsupported option: NOTIFY=NEVER");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> RET=HDRS", no_dsn).reply,
            "555 5.5.4 Unsupported option: RET=HDRS");
}

// The replies below are the ones Postfix 3.7.11's smtpd gave to the same
// lines, seen in a live session.
TEST(SmtpCommand, DsnMailParameters) {
  auto p = Parse("MAIL FROM:<a@example.com> RET=hdrs ENVID=a+2Bb+3Dc");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.dsn_ret, DsnRet::kHeaders);
  EXPECT_EQ(p.command.dsn_envid, "a+b=c");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> RET=FULL").command.dsn_ret, DsnRet::kFull);
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> RET=FULL RET=HDRS").reply,
            "501 5.5.4 Bad RET parameter syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> RET=BAD").reply, "501 5.5.4 Bad RET parameter syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> ENVID=a+2").reply,
            "501 5.5.4 Bad ENVID parameter syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> ENVID=a+0Ab").reply,
            "501 5.5.4 Bad ENVID parameter syntax");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> ENVID=x ENVID=y").reply,
            "501 5.5.4 Bad ENVID parameter syntax");
  // AUTH= is accepted and ignored while SASL is off; SMTPUTF8 is a flag.
  p = Parse("MAIL FROM:<a@example.com> AUTH=<> BODY=7BIT SMTPUTF8");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_TRUE(p.command.smtputf8);
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> SMTPUTF8=yes").reply,
            "555 5.5.4 Unsupported option: SMTPUTF8=yes");
}

TEST(SmtpCommand, DsnRcptParameters) {
  auto p = Parse("RCPT TO:<u@example.com> NOTIFY=success,FAILURE ORCPT=rfc822;u+2Bx@example.com");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.dsn_notify, kDsnNotifySuccess | kDsnNotifyFailure);
  EXPECT_EQ(p.command.dsn_orcpt, "rfc822;u+x@example.com");
  EXPECT_EQ(Parse("RCPT TO:<u@example.com> NOTIFY=NEVER").command.dsn_notify, kDsnNotifyNever);
  for (std::string_view bad : {"NOTIFY=NEVER,SUCCESS", "NOTIFY=BOGUS", "NOTIFY=",
                               "NOTIFY=DELAY NOTIFY=DELAY"}) {
    EXPECT_EQ(Parse(std::string("RCPT TO:<u@example.com> ") + std::string(bad)).reply,
              "501 5.5.4 Error: Bad NOTIFY parameter syntax")
        << bad;
  }
  for (std::string_view bad : {"ORCPT=bogus", "ORCPT=;a@b", "ORCPT=rfc822;", "ORCPT=rfc822;a+zz",
                               "ORCPT=rfc822;a ORCPT=rfc822;b"}) {
    EXPECT_EQ(Parse(std::string("RCPT TO:<u@example.com> ") + std::string(bad)).reply,
              "501 5.5.4 Error: Bad ORCPT parameter syntax")
        << bad;
  }
}

TEST(SmtpCommand, Xtext) {
  EXPECT_EQ(DecodeXtext("plain"), "plain");
  EXPECT_EQ(DecodeXtext("a+2Bb+3d"), "a+b=");
  EXPECT_EQ(DecodeXtext("a+2"), std::nullopt);
  EXPECT_EQ(DecodeXtext("a=b"), std::nullopt);
  EXPECT_EQ(DecodeXtext("a b"), std::nullopt);
  EXPECT_EQ(DecodeXtext("+7F"), std::nullopt);  // decodes to a control byte
}

TEST(SmtpCommand, CommandLinesMustBeUtf8) {
  EXPECT_TRUE(tables::IsValidUtf8("plain ascii"));
  EXPECT_TRUE(tables::IsValidUtf8("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa7"));
  EXPECT_FALSE(tables::IsValidUtf8("\xfc"));              // Latin-1
  EXPECT_FALSE(tables::IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(tables::IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(tables::IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(tables::IsValidUtf8("\xe2\x82"));          // cut short
  EXPECT_EQ(Parse("MAIL FROM:<\xfc@example.com>").reply, "500 5.5.2 Error: bad UTF-8 syntax");
  auto p = Parse("MAIL FROM:<j\xc3\xbc@example.com> SMTPUTF8");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.address, "j\xc3\xbc@example.com");
  SmtpCommandOptions no_utf8;
  no_utf8.smtputf8_enable = false;
  EXPECT_EQ(Parse("NOOP \xfc", no_utf8).reply, "");
  EXPECT_EQ(Parse("MAIL FROM:<a@example.com> SMTPUTF8", no_utf8).reply,
            "555 5.5.4 Unsupported option: SMTPUTF8");
}

TEST(SmtpCommand, CommandsWithoutArguments) {
  EXPECT_EQ(Parse("DATA").command.verb, SmtpVerb::kData);
  EXPECT_TRUE(Parse("data").ok());
  EXPECT_EQ(Parse("DATA now").reply, "501 5.5.4 Syntax: DATA");
  EXPECT_TRUE(Parse("RSET").ok());
  EXPECT_EQ(Parse("RSET x").reply, "501 5.5.4 Syntax: RSET");
  EXPECT_TRUE(Parse("NOOP anything at all").ok());
  EXPECT_EQ(Parse("NOOP").command.verb, SmtpVerb::kNoop);
  EXPECT_TRUE(Parse("QUIT").ok());
  EXPECT_EQ(Parse("quit now").command.verb, SmtpVerb::kQuit);
}

TEST(SmtpCommand, Vrfy) {
  auto p = Parse("VRFY user@example.com");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.address, "user@example.com");
  EXPECT_EQ(Parse("VRFY").reply, "501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
  SmtpCommandOptions no_utf8;
  no_utf8.smtputf8_enable = false;
  EXPECT_EQ(Parse("VRFY", no_utf8).reply, "501 5.5.4 Syntax: VRFY address");
  SmtpCommandOptions disabled;
  disabled.disable_vrfy_command = true;
  EXPECT_EQ(Parse("VRFY user", disabled).reply, "502 5.5.1 VRFY command is disabled");
}

TEST(SmtpCommand, ExtensionsWeDoNotOfferAreNotImplemented) {
  for (std::string_view line : {"STARTTLS"}) {
    auto p = Parse(line);
    EXPECT_EQ(p.command.verb, SmtpVerb::kNotImplemented) << line;
    EXPECT_EQ(p.reply, "502 5.5.1 Error: command not implemented") << line;
  }
}

// Postfix 3.7.11's replies with SASL off and no authorized XCLIENT/XFORWARD
// clients; HELP, EXPN and TURN are not commands it knows.
TEST(SmtpCommand, BdatCountAndLast) {
  auto p = Parse("BDAT 100 last");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.verb, SmtpVerb::kBdat);
  EXPECT_EQ(p.command.size, 100u);
  EXPECT_TRUE(p.command.last);
  p = Parse("BDAT 0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.size, 0u);
  EXPECT_FALSE(p.command.last);
  for (std::string_view bad : {"BDAT", "BDAT abc", "BDAT -1", "BDAT 5 FOO", "BDAT 5 LAST x",
                               "BDAT 9999999999999999999"}) {
    EXPECT_EQ(Parse(bad).reply, "521 5.5.4 Syntax: BDAT count [LAST]") << bad;
  }
}

TEST(SmtpCommand, EtrnKeepsItsWordsForTheSession) {
  auto p = Parse("ETRN  #relay.example ");
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.verb, SmtpVerb::kEtrn);
  EXPECT_EQ(p.command.argument, "#relay.example");
  EXPECT_EQ(Parse("ETRN a b").command.argument, "a b");
  EXPECT_EQ(Parse("ETRN").command.argument, "");
}

TEST(SmtpCommand, AuthXclientAndUnknownVerbsAsPostfix) {
  EXPECT_EQ(Parse("AUTH PLAIN AGFiYwBkZWY=").reply, "503 5.5.1 Error: authentication not enabled");
  EXPECT_EQ(Parse("XCLIENT ADDR=1.2.3.4").reply, "550 5.7.0 Error: insufficient authorization");
  EXPECT_EQ(Parse("XFORWARD NAME=x").reply, "550 5.7.0 Error: insufficient authorization");
  for (std::string_view line : {"HELP", "EXPN staff", "TURN", "SEND FROM:<a@b>"}) {
    auto p = Parse(line);
    EXPECT_EQ(p.command.verb, SmtpVerb::kUnknown) << line;
    EXPECT_EQ(p.reply, "500 5.5.2 Error: command not recognized") << line;
  }
}

TEST(SmtpCommand, ForbiddenCommandsSayGoodbye) {
  // Header lines sent as commands (a client that went on after a refused
  // DATA) end the session too, as in Postfix.
  for (std::string_view line : {"CONNECT example.com:443 HTTP/1.1", "GET / HTTP/1.0",
                                "post /x HTTP/1.1", "\x16\x03\x01\x02", "Subject: hello",
                                "From:someone", "NOOP:", "MAIL: x", "MAILFROM:<a@example.com>"}) {
    auto p = Parse(line);
    EXPECT_EQ(p.command.verb, SmtpVerb::kForbidden) << line;
    EXPECT_EQ(p.reply, "221 2.7.0 Error: I can break rules, too. Goodbye.");
  }
}

TEST(SmtpCommand, WithoutTheBuiltinForbiddenListOnlyHeadersSayGoodbye) {
  // smtpd_forbidden_commands set to something else: the session matches
  // its own list against unknown commands; headers still end the session.
  SmtpCommandOptions options;
  options.builtin_forbidden_commands = false;
  for (std::string_view line : {"CONNECT example.com:443", "GET / HTTP/1.0", "123", "\x16\x03"}) {
    auto p = ParseSmtpCommand(line, options);
    EXPECT_EQ(p.command.verb, SmtpVerb::kUnknown) << line;
    EXPECT_EQ(p.reply, "500 5.5.2 Error: command not recognized") << line;
  }
  EXPECT_EQ(ParseSmtpCommand("Subject: hello", options).command.verb, SmtpVerb::kForbidden);
}

TEST(SmtpCommand, UnknownAndEmptyLines) {
  EXPECT_EQ(Parse("XYZZY").reply, "500 5.5.2 Error: command not recognized");
  EXPECT_EQ(Parse("MAILFROM").reply, "500 5.5.2 Error: command not recognized");
  EXPECT_EQ(Parse("X-Foo : bar").reply, "500 5.5.2 Error: command not recognized");
  EXPECT_EQ(Parse("").reply, "500 5.5.2 Error: bad syntax");
  EXPECT_EQ(Parse("  \t ").reply, "500 5.5.2 Error: bad syntax");
  EXPECT_EQ(Parse(std::string_view("NOOP\0x", 6)).reply, "500 5.5.2 Error: bad syntax");
}

TEST(SmtpCommand, LeadingBlanksBeforeTheVerb) {
  auto p = Parse("  NOOP");
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(p.command.verb, SmtpVerb::kNoop);
}

}  // namespace
}  // namespace posthaste::runtime

namespace posthaste::runtime {
namespace {

// Found by smtp_command_fuzz: a parameter with control and 8-bit bytes was
// echoed into the 555 reply as it came.
TEST(SmtpCommand, RepliesNeverEchoControlBytes) {
  SmtpCommandOptions no_utf8;  // else \xff is refused as bad UTF-8 first
  no_utf8.smtputf8_enable = false;
  auto p = ParseSmtpCommand("MAIL FROM:<a@example.com> X=\x01y\xff", no_utf8);
  EXPECT_EQ(p.reply, "555 5.5.4 Unsupported option: X=?y?");
  // CR, VT and FF separate words like blanks, as in Postfix's tokenizer.
  p = ParseSmtpCommand("MAIL FROM:<a@example.com>\rSIZE=5\fBODY=7BIT", {});
  ASSERT_TRUE(p.ok()) << p.reply;
  EXPECT_EQ(p.command.size, 5u);
}

}  // namespace
}  // namespace posthaste::runtime
