// IRPrinter: human-readable IR. Variables get their name hint, made unique per printer when two
// distinct variables share a hint (identity is by object, so names never decide meaning).
// The C++ emitter (codegen/emit_cpp.h) is a subclass that overrides what C++ spells differently.
#pragma once

#include <map>
#include <ostream>
#include <set>
#include <string>

#include "ir/visitor.h"

namespace nasx::ir {

class IRPrinter : public IRVisitor {
 public:
  explicit IRPrinter(std::ostream& os) : os_(os) {}
  void print(const Expr& e) { visit_expr(e); }
  void print(const Stmt& s) { visit_stmt(s); }

 protected:
  std::string name_of(const Var* v);
  std::string name_of(const Buffer& b);
  void indent();
  void open_block();
  void close_block();

#define NASX_X(name, op) void visit(const name* node) override;
  NASX_IR_ALL_NODES(NASX_X)
#undef NASX_X

  std::ostream& os_;
  int indent_ = 0;

 private:
  std::string unique(const void* key, const std::string& hint);
  std::map<const void*, std::string> names_;
  std::set<std::string> used_;
};

std::string to_string(const Expr& e);
std::string to_string(const Stmt& s);
std::ostream& operator<<(std::ostream& os, const Expr& e);
std::ostream& operator<<(std::ostream& os, const Stmt& s);

}  // namespace nasx::ir
