from rest_framework import serializers

from core.api_fields import ContractMonthField


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "int", "money"])


class ReportOutputSerializer(serializers.Serializer):
    """A report: its columns and rows (money as strings with two decimals), totals and notes."""

    report = serializers.CharField()
    title = serializers.CharField()
    month_from = serializers.CharField(help_text="YYYY-MM")
    month_to = serializers.CharField(help_text="YYYY-MM")
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField())
    totals = serializers.DictField()
    notes = serializers.ListField(child=serializers.CharField())


class ReconciliationQuerySerializer(serializers.Serializer):
    month = ContractMonthField(required=False, help_text="YYYY-MM")
    month_from = ContractMonthField(required=False, help_text="YYYY-MM")
    month_to = ContractMonthField(required=False, help_text="YYYY-MM")


class FundPaymentSerializer(serializers.Serializer):
    fund_pay_type = serializers.CharField()
    fund_payamt = serializers.DecimalField(max_digits=16, decimal_places=2)


class ReconciliationOutputSerializer(serializers.Serializer):
    fixmedins_code = serializers.CharField()
    month_from = serializers.CharField()
    month_to = serializers.CharField()
    setl_cnt = serializers.IntegerField()
    medfee_sumamt = serializers.DecimalField(max_digits=16, decimal_places=2)
    fund_pay_sumamt = serializers.DecimalField(max_digits=16, decimal_places=2)
    setldetail = FundPaymentSerializer(many=True)
    acct_pay = serializers.DecimalField(max_digits=16, decimal_places=2)
    acct_mulaid_pay = serializers.DecimalField(max_digits=16, decimal_places=2)
    psn_cash_pay = serializers.DecimalField(max_digits=16, decimal_places=2)
