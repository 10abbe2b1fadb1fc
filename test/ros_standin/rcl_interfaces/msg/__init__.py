"""rcl_interfaces/msg: the parameter messages rclpy's Node uses."""

from _standin_msg import define

M = "rcl_interfaces.msg"
ParameterType = define(M, "ParameterType", [("structure_needs_at_least_one_member", "uint8", 0)],
                       constants={
                           "PARAMETER_NOT_SET": 0, "PARAMETER_BOOL": 1,
                           "PARAMETER_INTEGER": 2, "PARAMETER_DOUBLE": 3,
                           "PARAMETER_STRING": 4, "PARAMETER_BYTE_ARRAY": 5,
                           "PARAMETER_BOOL_ARRAY": 6, "PARAMETER_INTEGER_ARRAY": 7,
                           "PARAMETER_DOUBLE_ARRAY": 8, "PARAMETER_STRING_ARRAY": 9})
FloatingPointRange = define(M, "FloatingPointRange", [
    ("from_value", "double", 0.0), ("to_value", "double", 0.0), ("step", "double", 0.0)])
IntegerRange = define(M, "IntegerRange", [
    ("from_value", "int64", 0), ("to_value", "int64", 0), ("step", "uint64", 0)])
ParameterDescriptor = define(M, "ParameterDescriptor", [
    ("name", "string", ""),
    ("type", "uint8", 0),
    ("description", "string", ""),
    ("additional_constraints", "string", ""),
    ("read_only", "boolean", False),
    ("dynamic_typing", "boolean", False),
    ("floating_point_range", "sequence<rcl_interfaces/FloatingPointRange, 1>", None),
    ("integer_range", "sequence<rcl_interfaces/IntegerRange, 1>", None),
])
SetParametersResult = define(M, "SetParametersResult", [
    ("successful", "boolean", False), ("reason", "string", "")])
ListParametersResult = define(M, "ListParametersResult", [
    ("names", "sequence<string>", None), ("prefixes", "sequence<string>", None)])
