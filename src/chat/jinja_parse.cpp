#include "chat/jinja_parse.h"

#include <cstdlib>
#include <cstring>

#include "common/error.h"

namespace ttt::chat {

std::string describe_position(const std::string& source, size_t pos) {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < pos && k < source.size(); ++k) {
        if (source[k] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Lexer

struct Token {
    enum class Type { Name, String, Int, Float, Op, End };
    Type type = Type::End;
    std::string text;  // name, operator, or the decoded string
    int64_t i = 0;
    double f = 0;
    size_t pos = 0;
};

struct Piece {
    enum class Type { Text, Output, Tag };
    Type type;
    size_t pos;
    std::string text;            // Text
    std::vector<Token> tokens;   // Output / Tag (ending with an End token)
};

size_t skip_py_space(const std::string& s, size_t k) {
    size_t len;
    while (k < s.size() && py_space_at(s, k, &len)) k += len;
    return k;
}

std::string rstrip_py(const std::string& s) { return py_strip(s, false, true); }

class Lexer {
public:
    explicit Lexer(const std::string& src) : src_(src) {}

    std::vector<Piece> run() {
        std::vector<Piece> pieces;
        size_t pos = 0;
        bool line_starting = true;
        while (pos < src_.size()) {
            size_t t = pos;
            while (true) {
                t = src_.find('{', t);
                if (t == std::string::npos || t + 1 >= src_.size()) {
                    t = std::string::npos;
                    break;
                }
                const char k = src_[t + 1];
                if (k == '{' || k == '%' || k == '#') break;
                ++t;
            }
            if (t == std::string::npos) {
                add_text(pieces, pos, src_.substr(pos));
                break;
            }
            const char kind = src_[t + 1];
            const char modifier = t + 2 < src_.size() ? src_[t + 2] : '\0';
            std::string text = src_.substr(pos, t - pos);
            if (modifier == '-') {
                text = rstrip_py(text);
            } else if (modifier != '+' && kind != '{') {  // lstrip_blocks: a block or comment alone on its line
                const size_t nl = text.rfind('\n');
                const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
                if (l_pos > 0 || line_starting) {
                    if (text.find_first_not_of(" \t", l_pos) == std::string::npos) text.resize(l_pos);
                }
            }
            add_text(pieces, pos, text);
            size_t body = t + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
            size_t after;
            if (kind == '#') {
                const size_t end = src_.find("#}", body);
                if (end == std::string::npos) fail(t, "the comment is not closed with #}");
                after = end + 2;
                if (end > body && src_[end - 1] == '-') after = skip_py_space(src_, after);
                else if (!(end > body && src_[end - 1] == '+') && after < src_.size() && src_[after] == '\n') ++after;
            } else {
                Piece piece{kind == '{' ? Piece::Type::Output : Piece::Type::Tag, t, {}, {}};
                after = lex_tag(body, kind == '%', piece.tokens, t);
                pieces.push_back(std::move(piece));
            }
            line_starting = after > 0 && src_[after - 1] == '\n';
            pos = after;
        }
        return pieces;
    }

private:
    [[noreturn]] void fail(size_t pos, const std::string& why) {
        throw Error(TTT_ERR_FORMAT, "chat template, " + describe_position(src_, pos) + ": " + why);
    }

    static void add_text(std::vector<Piece>& pieces, size_t pos, std::string text) {
        if (!text.empty()) pieces.push_back(Piece{Piece::Type::Text, pos, std::move(text), {}});
    }

    // Tokens of one {% %} or {{ }} from `k` to its closing delimiter; returns the offset after it (and after
    // the whitespace the closing delimiter strips).
    size_t lex_tag(size_t k, bool block, std::vector<Token>& tokens, size_t open) {
        const char close = block ? '%' : '}';
        int depth = 0;  // open brackets: a '}}' inside a dict literal does not end the tag
        while (true) {
            while (k < src_.size() && std::strchr(" \t\n\r\f\v", src_[k]) && src_[k] != '\0') ++k;
            if (k >= src_.size()) fail(open, block ? "the tag is not closed with %}" : "the expression is not closed with }}");
            if (depth == 0) {
                if (src_.compare(k, 3, std::string("-") + close + "}") == 0) {
                    tokens.push_back(end_token(k));
                    return skip_py_space(src_, k + 3);
                }
                if (block && src_.compare(k, 3, "+%}") == 0) {
                    tokens.push_back(end_token(k));
                    return k + 3;
                }
                if (src_.compare(k, 2, std::string(1, close) + "}") == 0) {
                    tokens.push_back(end_token(k));
                    size_t after = k + 2;
                    if (block && after < src_.size() && src_[after] == '\n') ++after;  // trim_blocks
                    return after;
                }
            }
            Token tok;
            tok.pos = k;
            const char c = src_[k];
            if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                size_t e = k;
                while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
                tok.type = Token::Type::Name;
                tok.text = src_.substr(k, e - k);
                k = e;
            } else if (std::isdigit(static_cast<unsigned char>(c))) {
                k = lex_number(k, tok);
            } else if (c == '\'' || c == '"') {
                k = lex_string(k, tok);
            } else {
                static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~", "[",
                                                   "]", "(", ")", "{", "}", "<", ">", "=", ".", ":", "|", ",", ";"};
                const char* op = nullptr;
                for (const char* o : kOps)
                    if (src_.compare(k, std::strlen(o), o) == 0) {
                        op = o;
                        break;
                    }
                if (!op) fail(k, std::string("unexpected character '") + c + "'");
                tok.type = Token::Type::Op;
                tok.text = op;
                k += tok.text.size();
                if (tok.text == "(" || tok.text == "[" || tok.text == "{") ++depth;
                if ((tok.text == ")" || tok.text == "]" || tok.text == "}") && depth > 0) --depth;
            }
            tokens.push_back(std::move(tok));
        }
    }

    static Token end_token(size_t pos) {
        Token t;
        t.type = Token::Type::End;
        t.pos = pos;
        return t;
    }

    size_t lex_number(size_t k, Token& tok) {
        size_t e = k;
        auto digits = [&] {
            while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) ||
                                       (src_[e] == '_' && e + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e + 1])))))
                ++e;
        };
        digits();
        bool is_float = false;
        if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
            is_float = true;
            ++e;
            digits();
        }
        if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
            size_t x = e + 1;
            if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
            if (x < src_.size() && std::isdigit(static_cast<unsigned char>(src_[x]))) {
                is_float = true;
                e = x;
                digits();
            }
        }
        std::string text;
        for (size_t j = k; j < e; ++j)
            if (src_[j] != '_') text += src_[j];
        if (is_float) {
            tok.type = Token::Type::Float;
            tok.f = std::strtod(text.c_str(), nullptr);
        } else {
            tok.type = Token::Type::Int;
            errno = 0;
            char* end = nullptr;
            long long v = std::strtoll(text.c_str(), &end, 10);
            if (errno == ERANGE) fail(k, "the integer " + text + " is too large");
            tok.i = v;
        }
        return e;
    }

    static void put_utf8(uint32_t cp, std::string& out) {
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    // A quoted string with Python's unicode-escape rules (what Jinja applies): \n \t \\ \' \xNN \uNNNN ...;
    // an unknown escape keeps its backslash.
    size_t lex_string(size_t k, Token& tok) {
        const char q = src_[k];
        std::string out;
        size_t e = k + 1;
        while (true) {
            if (e >= src_.size()) fail(k, "the string is not closed");
            const char c = src_[e];
            if (c == q) break;
            if (c != '\\') {
                out += c;
                ++e;
                continue;
            }
            if (e + 1 >= src_.size()) fail(k, "the string is not closed");
            const char x = src_[e + 1];
            e += 2;
            switch (x) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case '\\': out += '\\'; break;
                case '\'': out += '\''; break;
                case '"': out += '"'; break;
                case 'a': out += '\a'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'v': out += '\v'; break;
                case '\n': break;  // a backslash before a newline joins the lines
                case 'x':
                case 'u':
                case 'U': {
                    const size_t n = x == 'x' ? 2 : x == 'u' ? 4 : 8;
                    if (e + n > src_.size()) fail(e - 2, "truncated \\" + std::string(1, x) + " escape in a string");
                    uint32_t cp = 0;
                    for (size_t j = 0; j < n; ++j) {
                        const char h = src_[e + j];
                        if (!std::isxdigit(static_cast<unsigned char>(h)))
                            fail(e - 2, "truncated \\" + std::string(1, x) + " escape in a string");
                        cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
                    }
                    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(e - 2, "the escape names no Unicode character");
                    put_utf8(cp, out);
                    e += n;
                    break;
                }
                default:
                    if (x >= '0' && x <= '7') {  // octal, up to three digits
                        uint32_t cp = static_cast<uint32_t>(x - '0');
                        for (int j = 0; j < 2 && e < src_.size() && src_[e] >= '0' && src_[e] <= '7'; ++j, ++e)
                            cp = cp * 8 + static_cast<uint32_t>(src_[e] - '0');
                        put_utf8(cp, out);
                    } else {
                        out += '\\';
                        out += x;
                    }
            }
        }
        tok.type = Token::Type::String;
        tok.text = std::move(out);
        return e + 1;
    }

    const std::string& src_;
};

// ---------------------------------------------------------------------------------------------------------------
// Parser

using ExprPtr = std::unique_ptr<Expr>;

class Parser {
public:
    Parser(const std::string& src, std::vector<Piece> pieces) : src_(src), pieces_(std::move(pieces)) {}

    Body parse_all() {
        std::string end;
        Body body = parse_body({}, &end);
        return body;
    }

private:
    [[noreturn]] void fail(size_t pos, const std::string& why) const {
        throw Error(TTT_ERR_FORMAT, "chat template, " + describe_position(src_, pos) + ": " + why);
    }

    // --- statements ---

    // Statements until a tag whose first word is in `ends` (returned through *end, its tokens left current).
    Body parse_body(const std::vector<std::string>& ends, std::string* end) {
        if (++nesting_ > kMaxNesting) fail(pieces_[index_ > 0 ? index_ - 1 : 0].pos, "blocks are nested too deeply");
        Body body;
        while (index_ < pieces_.size()) {
            Piece& p = pieces_[index_];
            if (p.type == Piece::Type::Text) {
                auto n = std::make_unique<Node>();
                n->kind = Node::Kind::Text;
                n->pos = p.pos;
                n->text = std::move(p.text);
                body.push_back(std::move(n));
                ++index_;
                continue;
            }
            begin(p);
            if (p.type == Piece::Type::Output) {
                auto n = std::make_unique<Node>();
                n->kind = Node::Kind::Output;
                n->pos = p.pos;
                n->expr = parse_expression();
                expect_end();
                body.push_back(std::move(n));
                ++index_;
                continue;
            }
            if (cur().type != Token::Type::Name) fail(cur().pos, "a statement name is expected after {%");
            const std::string word = cur().text;
            for (const auto& e : ends)
                if (word == e) {
                    *end = word;
                    --nesting_;
                    return body;
                }
            ++index_;
            ++tok_;
            body.push_back(parse_statement(word, p.pos));
        }
        if (!ends.empty())
            fail(src_.size(), "the template ends inside a block: expected {% " + ends.back() + " %}");
        --nesting_;
        return body;
    }

    std::unique_ptr<Node> parse_statement(const std::string& word, size_t pos) {
        auto n = std::make_unique<Node>();
        n->pos = pos;
        if (word == "if") parse_if(n.get());
        else if (word == "for") parse_for(n.get());
        else if (word == "set") parse_set(n.get());
        else if (word == "macro") parse_macro(n.get());
        else if (word == "break" || word == "continue") {
            n->kind = word == "break" ? Node::Kind::Break : Node::Kind::Continue;
            expect_end();
        } else if (word == "generation") {
            n->kind = Node::Kind::Block;
            expect_end();
            n->bodies.push_back(parse_block({"endgeneration"}));
        } else if (word == "elif" || word == "else" || word == "endif" || word == "endfor" || word == "endset" ||
                   word == "endmacro" || word == "endgeneration") {
            fail(pos, "{% " + word + " %} without the block it closes");
        } else {
            fail(pos, "the statement '" + word +
                          "' is not supported (supported: if, for, set, macro, break, continue, generation)");
        }
        return n;
    }

    // A body up to one of `ends`, then past that closing tag's name; the caller reads the rest of the tag.
    Body parse_until(const std::vector<std::string>& ends, std::string* end) {
        Body body = parse_body(ends, end);
        begin(pieces_[index_]);
        ++tok_;
        ++index_;
        return body;
    }

    // A body up to `{% end %}`, that tag included.
    Body parse_block(const std::vector<std::string>& ends, std::string* end = nullptr) {
        std::string e;
        Body body = parse_until(ends, end ? end : &e);
        expect_end();
        return body;
    }

    void parse_if(Node* n) {
        n->kind = Node::Kind::If;
        n->conditions.push_back(parse_expression());
        expect_end();
        while (true) {
            std::string end;
            n->bodies.push_back(parse_until({"elif", "else", "endif"}, &end));
            if (end != "elif") {
                expect_end();
                if (end == "else") n->bodies.push_back(parse_block({"endif"}));
                return;
            }
            n->conditions.push_back(parse_expression());
            expect_end();
        }
    }

    void parse_for(Node* n) {
        n->kind = Node::Kind::For;
        n->targets = parse_targets("in");
        if (!accept_name("in")) fail(cur().pos, "'in' is expected in a for statement");
        n->expr = parse_or();
        if (accept_name("if")) n->condition = parse_expression(false);
        if (accept_name("recursive")) fail(cur().pos, "recursive loops are not supported");
        expect_end();
        std::string end;
        n->bodies.push_back(parse_block({"else", "endfor"}, &end));
        if (end == "else") n->bodies.push_back(parse_block({"endfor"}));
    }

    void parse_set(Node* n) {
        n->targets = parse_targets("=");
        if (accept_op("=")) {
            n->kind = Node::Kind::Set;
            n->expr = parse_expression();
            expect_end();
            return;
        }
        if (n->targets.size() != 1) fail(cur().pos, "a block set takes one name");
        n->kind = Node::Kind::SetBlock;
        expect_end();
        n->bodies.push_back(parse_block({"endset"}));
    }

    void parse_macro(Node* n) {
        n->kind = Node::Kind::Macro;
        if (cur().type != Token::Type::Name) fail(cur().pos, "a macro name is expected");
        n->text = cur().text;
        ++tok_;
        if (!accept_op("(")) fail(cur().pos, "'(' is expected after the macro name");
        while (!accept_op(")")) {
            if (!n->targets.empty() && !accept_op(",")) fail(cur().pos, "',' or ')' is expected in the macro's parameters");
            if (accept_op(")")) break;
            if (cur().type != Token::Type::Name) fail(cur().pos, "a parameter name is expected");
            n->targets.push_back(cur().text);
            ++tok_;
            n->defaults.push_back(accept_op("=") ? parse_expression() : nullptr);
        }
        expect_end();
        n->bodies.push_back(parse_block({"endmacro"}));
    }

    std::vector<std::string> parse_targets(const char* stop) {
        std::vector<std::string> names;
        const bool paren = accept_op("(");
        while (true) {
            if (cur().type != Token::Type::Name) fail(cur().pos, "a variable name is expected");
            std::string name = cur().text;
            ++tok_;
            if (accept_op(".")) {  // ns.attr
                if (cur().type != Token::Type::Name) fail(cur().pos, "an attribute name is expected after '.'");
                name += "." + cur().text;
                ++tok_;
            }
            names.push_back(std::move(name));
            if (!accept_op(",")) break;
            if (cur().type == Token::Type::Op && (cur().text == ")" || cur().text == stop)) break;
        }
        if (paren && !accept_op(")")) fail(cur().pos, "')' is expected");
        for (const auto& n : names)
            if (names.size() > 1 && n.find('.') != std::string::npos) fail(cur().pos, "an attribute cannot be unpacked into");
        return names;
    }

    // --- token stream of the current tag ---

    void begin(Piece& p) {
        toks_ = &p.tokens;
        tok_ = 0;
    }
    const Token& cur() const { return (*toks_)[tok_]; }
    const Token& peek(size_t ahead) const {
        const size_t k = std::min(tok_ + ahead, toks_->size() - 1);
        return (*toks_)[k];
    }
    bool is_op(const char* op) const { return cur().type == Token::Type::Op && cur().text == op; }
    bool is_name(const char* name) const { return cur().type == Token::Type::Name && cur().text == name; }
    bool accept_op(const char* op) {
        if (!is_op(op)) return false;
        ++tok_;
        return true;
    }
    bool accept_name(const char* name) {
        if (!is_name(name)) return false;
        ++tok_;
        return true;
    }
    void expect_op(const char* op) {
        if (!accept_op(op)) fail(cur().pos, std::string("'") + op + "' is expected" + found());
    }
    void expect_end() {
        if (cur().type != Token::Type::End) fail(cur().pos, "the end of the tag is expected" + found());
    }
    std::string found() const {
        switch (cur().type) {
            case Token::Type::End: return ", found the end of the tag";
            case Token::Type::String: return ", found a string";
            case Token::Type::Int:
            case Token::Type::Float: return ", found a number";
            default: return ", found '" + cur().text + "'";
        }
    }

    // --- expressions ---

    struct Depth {
        Parser& p;
        explicit Depth(Parser& parser, size_t pos) : p(parser) {
            if (++p.expr_depth_ > kMaxNesting) p.fail(pos, "the expression is nested too deeply");
        }
        ~Depth() { --p.expr_depth_; }
    };

    ExprPtr make(Expr::Kind kind, size_t pos, std::string name = {}) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->pos = pos;
        e->name = std::move(name);
        return e;
    }

    // A finished node: its depth from its children's, refused past the limit. Chains that the grammar builds in a
    // loop (a.b.c..., x|f|g..., 1+1+1...) would otherwise nest without bound.
    ExprPtr sealed(ExprPtr e) {
        int d = 0;
        for (const auto& it : e->items)
            if (it) d = std::max(d, it->depth);
        e->depth = d + 1;
        if (e->depth > kMaxExprDepth) fail(e->pos, "the expression is nested too deeply");
        return e;
    }

    ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, size_t pos) {
        auto e = make(Expr::Kind::Binary, pos, op);
        e->items.push_back(std::move(a));
        e->items.push_back(std::move(b));
        return sealed(std::move(e));
    }

    ExprPtr parse_expression(bool with_conditional = true) {
        Depth d(*this, cur().pos);
        ExprPtr e = parse_or();
        if (!with_conditional) return e;
        while (is_name("if")) {
            const size_t pos = cur().pos;
            ++tok_;
            auto c = make(Expr::Kind::Conditional, pos);
            c->items.push_back(parse_or());
            c->items.push_back(std::move(e));
            c->items.push_back(accept_name("else") ? parse_expression() : nullptr);
            e = sealed(std::move(c));
        }
        return e;
    }

    ExprPtr parse_or() {
        ExprPtr e = parse_and();
        while (is_name("or")) {
            const size_t pos = cur().pos;
            ++tok_;
            e = binary("or", std::move(e), parse_and(), pos);
        }
        return e;
    }

    ExprPtr parse_and() {
        ExprPtr e = parse_not();
        while (is_name("and")) {
            const size_t pos = cur().pos;
            ++tok_;
            e = binary("and", std::move(e), parse_not(), pos);
        }
        return e;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            Depth d(*this, cur().pos);
            auto e = make(Expr::Kind::Unary, cur().pos, "not");
            ++tok_;
            e->items.push_back(parse_not());
            return sealed(std::move(e));
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        ExprPtr left = parse_math1();
        ExprPtr result;
        while (true) {
            const size_t pos = cur().pos;
            std::string op;
            if (cur().type == Token::Type::Op &&
                (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" ||
                 cur().text == "<=" || cur().text == ">=")) {
                op = cur().text;
                ++tok_;
            } else if (is_name("in")) {
                op = "in";
                ++tok_;
            } else if (is_name("not") && peek(1).type == Token::Type::Name && peek(1).text == "in") {
                op = "not in";
                tok_ += 2;
            } else {
                break;
            }
            // a < b < c is (a < b) and (b < c), b evaluated again (templates have no side effects)
            ExprPtr right = parse_math1();
            ExprPtr next_left = clone(*right);
            ExprPtr cmp = binary(op, std::move(left), std::move(right), pos);
            result = result ? binary("and", std::move(result), std::move(cmp), pos) : std::move(cmp);
            left = std::move(next_left);
        }
        return result ? std::move(result) : std::move(left);
    }

    ExprPtr clone(const Expr& x) {
        auto e = make(x.kind, x.pos, x.name);
        e->value = x.value;
        e->negated = x.negated;
        e->names = x.names;
        for (const auto& it : x.items) e->items.push_back(it ? clone(*it) : nullptr);
        e->depth = x.depth;
        return e;
    }

    ExprPtr parse_math1() {
        ExprPtr e = parse_concat();
        while (is_op("+") || is_op("-")) {
            const std::string op = cur().text;
            const size_t pos = cur().pos;
            ++tok_;
            e = binary(op, std::move(e), parse_concat(), pos);
        }
        return e;
    }

    ExprPtr parse_concat() {
        ExprPtr e = parse_math2();
        while (is_op("~")) {
            const size_t pos = cur().pos;
            ++tok_;
            e = binary("~", std::move(e), parse_math2(), pos);
        }
        return e;
    }

    ExprPtr parse_math2() {
        ExprPtr e = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const std::string op = cur().text;
            const size_t pos = cur().pos;
            ++tok_;
            e = binary(op, std::move(e), parse_pow(), pos);
        }
        return e;
    }

    ExprPtr parse_pow() {
        ExprPtr e = parse_unary(true);
        while (is_op("**")) {
            const size_t pos = cur().pos;
            ++tok_;
            e = binary("**", std::move(e), parse_unary(true), pos);
        }
        return e;
    }

    ExprPtr parse_unary(bool with_filter) {
        Depth d(*this, cur().pos);
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            e = make(Expr::Kind::Unary, cur().pos, cur().text);
            ++tok_;
            e->items.push_back(parse_unary(false));
            e = sealed(std::move(e));
        } else {
            e = parse_postfix(parse_primary());
        }
        return with_filter ? parse_filters(std::move(e)) : std::move(e);
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        const size_t pos = t.pos;
        switch (t.type) {
            case Token::Type::Name: {
                auto e = make(Expr::Kind::Literal, pos);
                if (t.text == "true" || t.text == "True") e->value = Value::boolean(true);
                else if (t.text == "false" || t.text == "False") e->value = Value::boolean(false);
                else if (t.text == "none" || t.text == "None") e->value = Value::none();
                else {
                    e->kind = Expr::Kind::Name;
                    e->name = t.text;
                }
                ++tok_;
                return e;
            }
            case Token::Type::String: {
                std::string s;
                while (cur().type == Token::Type::String) {  // adjacent literals join, as in Python
                    s += cur().text;
                    ++tok_;
                }
                auto e = make(Expr::Kind::Literal, pos);
                e->value = Value::string(std::move(s));
                return e;
            }
            case Token::Type::Int: {
                auto e = make(Expr::Kind::Literal, pos);
                e->value = Value::integer(t.i);
                ++tok_;
                return e;
            }
            case Token::Type::Float: {
                auto e = make(Expr::Kind::Literal, pos);
                e->value = Value::number(t.f);
                ++tok_;
                return e;
            }
            case Token::Type::End: fail(pos, "an expression is expected, found the end of the tag");
            case Token::Type::Op: break;
        }
        if (accept_op("(")) {
            if (accept_op(")")) return make(Expr::Kind::Tuple, pos);
            ExprPtr first = parse_expression();
            if (accept_op(")")) return first;
            auto tuple = make(Expr::Kind::Tuple, pos);
            tuple->items.push_back(std::move(first));
            while (accept_op(",")) {
                if (is_op(")")) break;
                tuple->items.push_back(parse_expression());
            }
            expect_op(")");
            return sealed(std::move(tuple));
        }
        if (accept_op("[")) {
            auto list = make(Expr::Kind::List, pos);
            while (!accept_op("]")) {
                if (!list->items.empty()) expect_op(",");
                if (accept_op("]")) break;
                list->items.push_back(parse_expression());
            }
            return sealed(std::move(list));
        }
        if (accept_op("{")) {
            auto dict = make(Expr::Kind::Dict, pos);
            while (!accept_op("}")) {
                if (!dict->items.empty()) expect_op(",");
                if (accept_op("}")) break;
                dict->items.push_back(parse_expression());
                expect_op(":");
                dict->items.push_back(parse_expression());
            }
            return sealed(std::move(dict));
        }
        fail(pos, "an expression is expected" + found());
    }

    ExprPtr parse_postfix(ExprPtr e) {
        while (true) {
            const size_t pos = cur().pos;
            if (accept_op(".")) {
                if (cur().type == Token::Type::Int) {  // x.0 is x[0]
                    auto index = make(Expr::Kind::Literal, cur().pos);
                    index->value = Value::integer(cur().i);
                    ++tok_;
                    auto item = make(Expr::Kind::Item, pos);
                    item->items.push_back(std::move(e));
                    item->items.push_back(std::move(index));
                    e = sealed(std::move(item));
                    continue;
                }
                auto a = make(Expr::Kind::Attr, pos);
                if (cur().type != Token::Type::Name) fail(cur().pos, "an attribute name is expected after '.'");
                a->name = cur().text;
                ++tok_;
                a->items.push_back(std::move(e));
                e = sealed(std::move(a));
            } else if (accept_op("[")) {
                e = parse_subscript(std::move(e), pos);
            } else if (is_op("(")) {
                e = parse_call(make(Expr::Kind::Call, pos), std::move(e));
            } else {
                return e;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr target, size_t pos) {
        ExprPtr parts[3];
        int part = 0;
        bool slice = false;
        while (true) {
            if (is_op(":")) {
                slice = true;
                ++tok_;
                if (++part > 2) fail(cur().pos, "a slice has at most three parts");
                continue;
            }
            if (is_op("]")) break;
            if (parts[part]) fail(cur().pos, "':' or ']' is expected" + found());
            parts[part] = parse_expression();
        }
        ++tok_;
        if (!slice) {
            if (!parts[0]) fail(pos, "an index is expected between [ ]");
            auto e = make(Expr::Kind::Item, pos);
            e->items.push_back(std::move(target));
            e->items.push_back(std::move(parts[0]));
            return sealed(std::move(e));
        }
        auto e = make(Expr::Kind::Slice, pos);
        e->items.push_back(std::move(target));
        for (auto& p : parts) e->items.push_back(std::move(p));
        return sealed(std::move(e));
    }

    // Arguments in parentheses: call->items[0] is the callee (or the filtered value), then the arguments.
    ExprPtr parse_call(ExprPtr call, ExprPtr first) {
        call->items.push_back(std::move(first));
        expect_op("(");
        bool any = false;
        while (!accept_op(")")) {
            if (any) expect_op(",");
            if (accept_op(")")) break;
            any = true;
            if (cur().type == Token::Type::Name && peek(1).type == Token::Type::Op && peek(1).text == "=") {
                call->names.push_back(cur().text);
                tok_ += 2;
            } else {
                if (is_op("*") || is_op("**")) fail(cur().pos, "*args and **kwargs are not supported");
                for (const auto& n : call->names)
                    if (!n.empty()) fail(cur().pos, "a positional argument follows a named one");
                call->names.push_back("");
            }
            call->items.push_back(parse_expression());
        }
        return sealed(std::move(call));
    }

    ExprPtr parse_filters(ExprPtr e) {
        while (true) {
            const size_t pos = cur().pos;
            if (accept_op("|")) {
                if (cur().type != Token::Type::Name) fail(cur().pos, "a filter name is expected after '|'");
                auto f = make(Expr::Kind::Filter, pos, cur().text);
                ++tok_;
                if (is_op("(")) {
                    f = parse_call(std::move(f), std::move(e));
                } else {
                    f->items.push_back(std::move(e));
                    f = sealed(std::move(f));
                }
                e = std::move(f);
            } else if (accept_name("is")) {
                auto t = make(Expr::Kind::Test, pos);
                t->negated = accept_name("not");
                if (cur().type != Token::Type::Name) fail(cur().pos, "a test name is expected after 'is'");
                t->name = cur().text;
                ++tok_;
                if (is_op("(")) {
                    t = parse_call(std::move(t), std::move(e));
                } else {
                    t->items.push_back(std::move(e));
                    const Token& c = cur();
                    const bool arg = (c.type == Token::Type::Name && c.text != "else" && c.text != "or" && c.text != "and") ||
                                     c.type == Token::Type::String || c.type == Token::Type::Int ||
                                     c.type == Token::Type::Float || (c.type == Token::Type::Op && (c.text == "[" || c.text == "{"));
                    if (arg) {
                        t->names.push_back("");
                        t->items.push_back(parse_postfix(parse_primary()));
                    }
                    t = sealed(std::move(t));
                }
                e = std::move(t);
            } else if (is_op("(")) {
                e = parse_call(make(Expr::Kind::Call, pos), std::move(e));
            } else {
                return e;
            }
        }
    }

    const std::string& src_;
    std::vector<Piece> pieces_;
    size_t index_ = 0;
    std::vector<Token>* toks_ = nullptr;
    size_t tok_ = 0;
    int nesting_ = 0;
    int expr_depth_ = 0;
};

// Jinja's newline handling: \r\n and \r become \n, and one newline at the very end is dropped.
std::string normalise_newlines(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t k = 0; k < text.size(); ++k) {
        if (text[k] == '\r') {
            out += '\n';
            if (k + 1 < text.size() && text[k + 1] == '\n') ++k;
        } else {
            out += text[k];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

}  // namespace

ParsedTemplate parse_template(std::string_view text) {
    ParsedTemplate t;
    t.source = normalise_newlines(text);
    Lexer lexer(t.source);
    Parser parser(t.source, lexer.run());
    t.body = parser.parse_all();
    return t;
}

}  // namespace ttt::chat
