#include "ir/printer.h"

#include <cstdio>
#include <sstream>

namespace nasx::ir {

std::string IRPrinter::unique(const void* key, const std::string& hint) {
  auto it = names_.find(key);
  if (it != names_.end()) return it->second;
  std::string name = hint.empty() ? "v" : hint;
  for (int i = 1; used_.count(name); ++i) name = hint + "_" + std::to_string(i);
  used_.insert(name);
  names_[key] = name;
  return name;
}

std::string IRPrinter::name_of(const Var* v) {
  return unique(v, v->name_hint);
}
std::string IRPrinter::name_of(const Buffer& b) {
  return unique(b.get(), b->name);
}

void IRPrinter::indent() {
  for (int i = 0; i < indent_; ++i) os_ << "  ";
}
void IRPrinter::open_block() {
  os_ << " {\n";
  ++indent_;
}
void IRPrinter::close_block() {
  --indent_;
  indent();
  os_ << "}\n";
}

namespace {
const char* binary_symbol(NodeKind k) {
  switch (k) {
#define NASX_X(name, op) \
  case NodeKind::name:   \
    return op;
    NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X
    default:
      return "?";
  }
}
}  // namespace

#define NASX_X(name, op)                                        \
  void IRPrinter::visit(const name* n) {                        \
    if (n->kind == NodeKind::Min || n->kind == NodeKind::Max) { \
      os_ << binary_symbol(n->kind) << "(";                     \
      visit_expr(n->a);                                         \
      os_ << ", ";                                              \
      visit_expr(n->b);                                         \
      os_ << ")";                                               \
      return;                                                   \
    }                                                           \
    os_ << "(";                                                 \
    visit_expr(n->a);                                           \
    os_ << " " << binary_symbol(n->kind) << " ";                \
    visit_expr(n->b);                                           \
    os_ << ")";                                                 \
  }
NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X

void IRPrinter::visit(const IntImm* n) {
  if (n->type.is_bool())
    os_ << (n->value ? "true" : "false");
  else
    os_ << n->value;
}
void IRPrinter::visit(const FloatImm* n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9gf", n->value);
  os_ << buf;
}
void IRPrinter::visit(const Var* n) {
  os_ << name_of(n);
}
void IRPrinter::visit(const Not* n) {
  os_ << "!";
  visit_expr(n->a);
}
void IRPrinter::visit(const Select* n) {
  os_ << "select(";
  visit_expr(n->condition);
  os_ << ", ";
  visit_expr(n->true_value);
  os_ << ", ";
  visit_expr(n->false_value);
  os_ << ")";
}
void IRPrinter::visit(const Load* n) {
  os_ << name_of(n->buffer) << "[";
  for (size_t i = 0; i < n->indices.size(); ++i) {
    if (i) os_ << ", ";
    visit_expr(n->indices[i]);
  }
  os_ << "]";
  if (n->lanes > 1) os_ << "x" << n->lanes;
}
void IRPrinter::visit(const Broadcast* n) {
  os_ << "broadcast" << n->lanes << "(";
  visit_expr(n->value);
  os_ << ")";
}
void IRPrinter::visit(const Call* n) {
  os_ << n->name << "(";
  for (size_t i = 0; i < n->args.size(); ++i) {
    if (i) os_ << ", ";
    visit_expr(n->args[i]);
  }
  os_ << ")";
}

void IRPrinter::visit(const LetStmt* n) {
  indent();
  os_ << "let " << name_of(n->var.as<Var>()) << " = ";
  visit_expr(n->value);
  os_ << "\n";
  visit_stmt(n->body);
}
void IRPrinter::visit(const For* n) {
  indent();
  os_ << for_kind_name(n->for_kind) << " " << name_of(n->var.as<Var>()) << " in [";
  visit_expr(n->min);
  os_ << ", +";
  visit_expr(n->extent);
  os_ << ")";
  open_block();
  visit_stmt(n->body);
  close_block();
}
void IRPrinter::visit(const Store* n) {
  indent();
  os_ << name_of(n->buffer) << "[";
  for (size_t i = 0; i < n->indices.size(); ++i) {
    if (i) os_ << ", ";
    visit_expr(n->indices[i]);
  }
  os_ << "] = ";
  visit_expr(n->value);
  os_ << "\n";
}
void IRPrinter::visit(const IfThenElse* n) {
  indent();
  os_ << "if (";
  visit_expr(n->condition);
  os_ << ")";
  open_block();
  visit_stmt(n->then_case);
  if (n->else_case.defined()) {
    --indent_;
    indent();
    os_ << "} else {\n";
    ++indent_;
    visit_stmt(n->else_case);
  }
  close_block();
}
void IRPrinter::visit(const Block* n) {
  for (const Stmt& s : n->stmts) visit_stmt(s);
}

void IRPrinter::visit(const Allocate* n) {
  indent();
  os_ << "allocate " << name_of(n->buffer) << "[";
  for (size_t i = 0; i < n->buffer->shape.size(); ++i)
    os_ << (i ? ", " : "") << n->buffer->shape[i];
  os_ << "]";
  open_block();
  visit_stmt(n->body);
  close_block();
}

std::string to_string(const Expr& e) {
  std::ostringstream os;
  IRPrinter(os).print(e);
  return os.str();
}
std::string to_string(const Stmt& s) {
  std::ostringstream os;
  IRPrinter(os).print(s);
  return os.str();
}
std::ostream& operator<<(std::ostream& os, const Expr& e) {
  return os << to_string(e);
}
std::ostream& operator<<(std::ostream& os, const Stmt& s) {
  return os << to_string(s);
}

}  // namespace nasx::ir
